package repo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
)

// ReadCommit reads and decodes a commit. The caller may change what it
// gets.
func (r *Repo) ReadCommit(ctx context.Context, id objects.ID) (*objects.Commit, error) {
	if c, ok := r.commits.Get(id); ok {
		return copyCommit(c), ctx.Err()
	}
	epoch := r.commits.Epoch()
	data, err := r.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", id.Short(), err)
	}
	c, err := objects.DecodeCommit(data)
	if err == nil && r.commits != nil && !waits(r.store, id) { // the copy is for it alone
		r.commits.Add(epoch, id, copyCommit(c))
	}
	return c, err
}

// recentCommitsShare is the share of Options.RecentBytes given to decoded
// commits; recentCommitCost is what one costs besides its strings and
// parents.
const (
	recentCommitsShare = 4
	recentCommitCost   = 256
)

func newRecentCommits(budget int64) *objects.Recent[*objects.Commit] {
	return objects.NewRecent(budget, func(c *objects.Commit) int64 {
		// Names count too: a pusher chooses them, as long as it likes.
		strs := len(c.Message) + len(c.Author.Name) + len(c.Author.Email) + len(c.Committer.Name) + len(c.Committer.Email)
		return recentCommitCost + int64(strs+len(c.Parents)*objects.IDSize)
	})
}

// copyCommit copies what a caller could change in place.
func copyCommit(c *objects.Commit) *objects.Commit {
	cp := *c
	cp.Parents = slices.Clone(c.Parents)
	return &cp
}

// Height returns the height a commit with these parents gets.
func (r *Repo) Height(ctx context.Context, parents []objects.ID) (uint64, error) {
	h, _, err := r.parentsBounds(ctx, parents)
	return h, err
}

// parentsBounds reads the parents of a new commit: the height it gets,
// and the latest commit time among them (zero without parents).
func (r *Repo) parentsBounds(ctx context.Context, parents []objects.ID) (height uint64, latest time.Time, err error) {
	for _, p := range parents {
		c, err := r.ReadCommit(ctx, p)
		if err != nil {
			return 0, time.Time{}, err
		}
		height = max(height, c.Height)
		if c.CommitTime.After(latest) {
			latest = c.CommitTime
		}
	}
	return height + 1, latest, nil
}

// CommitOptions describe a new commit.
type CommitOptions struct {
	Message string
	Author  objects.Signature
	// Committer, when set, is who wrote the commit for its author: the
	// doc API sets the writing token (see TokenCommitter).
	Committer objects.Signature
	// Time is the author date (zero: the clock). It is only shown: the
	// commit time, which decides conflicts, always comes from the clock.
	Time time.Time
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
		Author: opts.Author, Committer: opts.Committer, Time: opts.Time, Message: opts.Message,
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

// WriteCommit fills in the commit's height, commit time and author date
// and stores it. Its maps and parents must already be stored.
//
// A zero CommitTime becomes the hybrid logical clock: the leader's clock,
// or one nanosecond past the latest parent's commit time when the clock is
// not past it, so a commit is always newer than its parents. A CommitTime
// given (a converging merge derives it from its parents) must not be
// earlier than a parent's: that is ErrCommitTimeBeforeParent. A zero Time
// (author date) becomes the clock's reading.
func (r *Repo) WriteCommit(ctx context.Context, c *objects.Commit) (objects.ID, error) {
	h, latest, err := r.parentsBounds(ctx, c.Parents)
	if err != nil {
		return objects.ID{}, err
	}
	return r.writeCommitAfter(ctx, c, h, latest)
}

// writeCommitAfter is WriteCommit for a caller that knows the parents'
// bounds (parentsBounds): height h, latest commit time latest.
func (r *Repo) writeCommitAfter(ctx context.Context, c *objects.Commit, h uint64, latest time.Time) (objects.ID, error) {
	c.Height = h
	now := r.Now()
	switch {
	case c.CommitTime.IsZero():
		c.CommitTime = now
		if !now.After(latest) {
			c.CommitTime = latest.Add(time.Nanosecond)
		}
	case c.CommitTime.Before(latest):
		return objects.ID{}, fmt.Errorf("%w: %s is before %s", ErrCommitTimeBeforeParent,
			c.CommitTime.UTC().Format(time.RFC3339Nano), latest.UTC().Format(time.RFC3339Nano))
	}
	c.CommitTime = c.CommitTime.UTC()
	if c.Time.IsZero() {
		c.Time = now
	}
	obj := c.Encode()
	if err := r.store.Put(ctx, obj); err != nil {
		return objects.ID{}, err
	}
	return obj.ID, nil
}

// CommitEdits makes a commit on a branch that applies edits to its head,
// leaving its working set alone: how scripts and tests write. If the
// branch moved since it was read, nothing changes and the error wraps
// objects.ErrRefChanged. check, when set, sees the head's index before
// the edits are applied and may refuse them.
func (r *Repo) CommitEdits(ctx context.Context, branchRef string, edits []Edit, opts CommitOptions,
	check func(index objects.ID) error) (objects.ID, error) {
	w := ChainWrite{Edits: edits, Options: opts}
	if check != nil {
		w.Check = func(_ context.Context, _ *prolly.Tree, index objects.ID) error { return check(index) }
	}
	res, err := r.CommitChain(ctx, branchRef, []ChainWrite{w})
	if err != nil {
		return objects.ID{}, err
	}
	return res[0].Commit, res[0].Err
}

// CommitInfo is a commit as commands and the server report it in JSON.
type CommitInfo struct {
	ID        objects.ID         `json:"id"`
	Parents   []objects.ID       `json:"parents"`
	Index     objects.ID         `json:"index"`
	Conflicts *objects.ID        `json:"conflicts,omitempty"`
	Height    uint64             `json:"height"`
	Author    objects.Signature  `json:"author"`
	Committer *objects.Signature `json:"committer,omitempty"` // who wrote it for the author
	Time      time.Time          `json:"time"`                // author date
	Committed time.Time          `json:"commit_time"`         // hybrid logical clock
	Message   string             `json:"message"`
}

// Info describes a commit for JSON output.
func Info(id objects.ID, c *objects.Commit) CommitInfo {
	out := CommitInfo{ID: id, Parents: c.Parents, Index: c.Index, Height: c.Height,
		Author: c.Author, Time: c.Time, Committed: c.CommitTime, Message: c.Message}
	if out.Parents == nil {
		out.Parents = []objects.ID{}
	}
	if !c.Conflicts.IsZero() {
		out.Conflicts = &c.Conflicts
	}
	if c.Committer != (objects.Signature{}) {
		out.Committer = &c.Committer
	}
	return out
}

// TokenCommitter is the committer of a commit written with an API token:
// the token's name, or none without a token (a server without auth).
func TokenCommitter(token string) objects.Signature {
	if token == "" {
		return objects.Signature{}
	}
	return objects.Signature{Name: token, Email: "token@folio.invalid"}
}
