package repo

import (
	"context"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
)

// ChainWrite is one write of a chain of commits (CommitChain): a set of
// edits that becomes a commit of its own.
type ChainWrite struct {
	Edits []Edit
	// Blobs are objects the edits refer to that are not stored yet (the
	// small documents they set): they are stored with the chain.
	Blobs   []objects.Object
	Options CommitOptions
	// Check, when set, sees the branch's index just before this write
	// (after the writes before it in the chain), read through tree, and
	// may refuse the write: its error is the write's, and the write makes
	// no commit.
	Check func(ctx context.Context, tree *prolly.Tree, index objects.ID) error
}

// ChainResult is what became of one write of a chain: its commit, or the
// error its Check returned.
type ChainResult struct {
	Commit objects.ID
	Err    error
}

// CommitChain makes one commit per write on a branch, in order, each the
// parent of the next, and moves the branch from its head to the last of
// them in one step: every object of the chain and the ref move are stored
// together (in one transaction where the store can) and are durable when
// it returns. So concurrent writers share one synced write and each write
// is still its own version in the history.
//
// A write its Check refuses gets that error and the chain goes on without
// it. Any other failure, or a branch that moved since it was read (an
// error wrapping objects.ErrRefChanged), is returned as err: then no write
// of the chain was made and nothing is visible.
func (r *Repo) CommitChain(ctx context.Context, branchRef string, writes []ChainWrite) ([]ChainResult, error) {
	if err := r.checkWritable(); err != nil {
		return nil, err
	}
	head, err := r.RefOrZero(ctx, branchRef)
	if err != nil {
		return nil, err
	}
	qr, err := r.store.Quarantine(ctx)
	if err != nil {
		return nil, err
	}
	defer qr.Discard()
	// The chain's nodes and commits are read back while it is built, from
	// the quarantine: a repository over it, whose Tree caches them apart
	// from r's until they are stored.
	st := staged{Store: r.store, q: qr}
	b := &Repo{Files: r.Files, store: st, tree: r.tree.Overlay(st), clock: r.clock}
	var index, conflicts objects.ID
	if !head.IsZero() {
		c, err := r.ReadCommit(ctx, head)
		if err != nil {
			return nil, err
		}
		index, conflicts = c.Index, c.Conflicts
	}
	results := make([]ChainResult, len(writes))
	tip := head
	for i, w := range writes {
		if w.Check != nil {
			if err := w.Check(ctx, b.tree, index); err != nil {
				results[i].Err = err
				continue
			}
		}
		if err := qr.Put(ctx, w.Blobs...); err != nil {
			return nil, err
		}
		c := &objects.Commit{Author: w.Options.Author, Committer: w.Options.Committer, Time: w.Options.Time, Message: w.Options.Message}
		if !tip.IsZero() {
			c.Parents = []objects.ID{tip}
		}
		if c.Index, c.Conflicts, err = b.editSettling(ctx, index, conflicts, w.Edits); err != nil {
			return nil, err
		}
		if tip, err = b.WriteCommit(ctx, c); err != nil {
			return nil, err
		}
		index, conflicts = c.Index, c.Conflicts
		results[i].Commit = tip
	}
	if tip == head {
		return results, nil // every write was refused
	}
	keepAll := func(objects.ID) bool { return true }
	if err := qr.Promote(ctx, keepAll, objects.RefUpdate{Name: branchRef, Old: head, New: tip}); err != nil {
		return nil, err
	}
	b.tree.Publish()
	return results, nil
}

// staged is a store whose reads see a quarantine and whose writes go to
// it: what a chain of commits writes becomes visible with its ref.
type staged struct {
	objects.Store
	q objects.Quarantine
}

func (s staged) Get(ctx context.Context, id objects.ID) ([]byte, error) { return s.q.Get(ctx, id) }
func (s staged) Has(ctx context.Context, id objects.ID) (bool, error)   { return s.q.Has(ctx, id) }
func (s staged) Put(ctx context.Context, objs ...objects.Object) error  { return s.q.Put(ctx, objs...) }
