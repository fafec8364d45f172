package repo

import (
	"context"
	"fmt"
	"time"

	"github.com/folio-db/folio/objects"
)

// ReadCommit reads and decodes a commit.
func (r *Repo) ReadCommit(ctx context.Context, id objects.ID) (*objects.Commit, error) {
	data, err := r.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", id.Short(), err)
	}
	return objects.DecodeCommit(data)
}

// Height returns the height a commit with these parents gets.
func (r *Repo) Height(ctx context.Context, parents []objects.ID) (uint64, error) {
	var h uint64
	for _, p := range parents {
		c, err := r.ReadCommit(ctx, p)
		if err != nil {
			return 0, err
		}
		h = max(h, c.Height)
	}
	return h + 1, nil
}

// CommitOptions describe a new commit.
type CommitOptions struct {
	Message string
	Author  objects.Signature
	Time    time.Time
}

// Commit records the staged state of a branch as a new commit and moves
// the branch to it. The branch and its working set move together by
// compare-and-swap: if another writer moved either since they were read,
// nothing changes and the error wraps objects.ErrRefChanged.
func (r *Repo) Commit(ctx context.Context, branchRef string, opts CommitOptions) (objects.ID, error) {
	if err := r.checkWritable(); err != nil {
		return objects.ID{}, err
	}
	s, err := r.LoadStaged(ctx, branchRef)
	if err != nil {
		return objects.ID{}, err
	}
	if !s.HasChanges() {
		return objects.ID{}, ErrNothingToCommit
	}
	if s.Stale() {
		return objects.ID{}, fmt.Errorf("%w: %s is now at %s, the changes were staged on %s; run 'folio reset' and stage them again",
			ErrStaleWorkingSet, branchRef, s.Head.Short(), s.Base.Short())
	}
	var parents []objects.ID
	for _, p := range []objects.ID{s.Base, s.MergeHead} {
		if !p.IsZero() {
			parents = append(parents, p)
		}
	}
	c := &objects.Commit{
		Index: s.Index, Conflicts: s.Conflicts, Parents: parents,
		Author: opts.Author, Time: opts.Time, Message: opts.Message,
	}
	id, err := r.WriteCommit(ctx, c)
	if err != nil {
		return objects.ID{}, err
	}
	err = r.store.UpdateRefs(ctx,
		objects.RefUpdate{Name: branchRef, Old: s.Base, New: id},
		objects.RefUpdate{Name: WorkingSetRef(branchRef), Old: s.ref},
	)
	if err != nil {
		return objects.ID{}, err
	}
	return id, nil
}

// WriteCommit fills in the commit's height and stores it. Its maps and
// parents must already be stored.
func (r *Repo) WriteCommit(ctx context.Context, c *objects.Commit) (objects.ID, error) {
	h, err := r.Height(ctx, c.Parents)
	if err != nil {
		return objects.ID{}, err
	}
	c.Height = h
	obj := c.Encode()
	if err := r.store.Put(ctx, obj); err != nil {
		return objects.ID{}, err
	}
	return obj.ID, nil
}
