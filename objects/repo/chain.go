package repo

import (
	"context"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
)

// ChainWrite is one write of a chain of commits (CommitChain): a set of
// edits that becomes a commit of its own.
type ChainWrite struct {
	Edits []Edit
	// Blobs are objects the edits refer to that are not stored yet (the
	// small documents they set): they are stored with the chain, which
	// keeps their bytes without copying them: do not change them.
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
	c, err := r.BuildChain(ctx, branchRef, writes, nil)
	if err != nil {
		return nil, err
	}
	defer c.Discard()
	if err := c.Store(ctx); err != nil {
		return nil, err
	}
	return c.Results, nil
}

// Chain is a chain of commits BuildChain made and nothing stored yet:
// Store stores it and moves its branch, Discard drops it.
type Chain struct {
	r         *Repo
	ref       string
	qr        objects.Quarantine
	st        *staged
	b         *Repo // over st: the chain's objects, then the store's
	head      objects.ID
	tip       objects.ID // the last commit; head when every write was refused
	tipHeight uint64     // tip's height and commit time (zero with no tip):
	tipTime   time.Time  // a write's commit does not read its parent again
	index     objects.ID // tip's maps
	conflicts objects.ID
	// Results are the writes' commits and refusals, in order.
	Results []ChainResult
}

// BuildChain makes the commits of CommitChain without storing them. With
// after, a chain of the same branch whose Store is under way, it builds
// on after's last commit, reading after's objects from memory, and reads
// neither the branch nor the store for them: its Store moves the branch
// from there, so it fails with objects.ErrRefChanged unless after's Store
// succeeded first. So the next chain is built while the one before it is
// synced.
func (r *Repo) BuildChain(ctx context.Context, branchRef string, writes []ChainWrite, after *Chain) (*Chain, error) {
	if err := r.checkWritable(); err != nil {
		return nil, err
	}
	c := &Chain{r: r, ref: branchRef}
	if after != nil {
		c.head, c.index, c.conflicts = after.tip, after.index, after.conflicts
		c.tipHeight, c.tipTime = after.tipHeight, after.tipTime
	} else {
		head, err := r.RefOrZero(ctx, branchRef)
		if err != nil {
			return nil, err
		}
		c.head = head
		if !head.IsZero() {
			hc, err := r.ReadCommit(ctx, head)
			if err != nil {
				return nil, err
			}
			c.index, c.conflicts = hc.Index, hc.Conflicts
			c.tipHeight, c.tipTime = hc.Height, hc.CommitTime
		}
	}
	qr, err := r.store.Quarantine(ctx)
	if err != nil {
		return nil, err
	}
	// The chain's nodes and commits are read back while it is built, from
	// memory: a repository over them, whose Tree caches them apart from
	// r's until they are stored. Built on after, it reads the nodes after
	// decoded from after's Tree, and after's other objects from after's
	// quarantine.
	c.qr = qr
	c.st = &staged{Store: r.store, chainObjects: chainObjects{q: qr, ids: map[objects.ID]struct{}{}}}
	tree := r.tree
	if after != nil {
		c.st.before = &after.st.chainObjects
		tree = after.b.tree
	}
	c.b = &Repo{Files: r.Files, store: c.st, tree: tree.Overlay(c.st), clock: r.clock}
	c.tip = c.head
	if err := c.Add(ctx, writes); err != nil {
		c.Discard()
		return nil, err
	}
	return c, nil
}

// Add builds more writes onto the chain, after those it holds, and
// appends their results to Results: a chain grows while the one before
// it is synced. After an error the chain is unusable: Discard it.
func (c *Chain) Add(ctx context.Context, writes []ChainWrite) error {
	c.Results = append(c.Results, make([]ChainResult, len(writes))...)
	results := c.Results[len(c.Results)-len(writes):]
	for i, w := range writes {
		if w.Check != nil {
			if err := w.Check(ctx, c.b.tree, c.index); err != nil {
				results[i].Err = err
				continue
			}
		}
		if err := c.st.Put(ctx, w.Blobs...); err != nil {
			return err
		}
		cm := &objects.Commit{Author: w.Options.Author, Committer: w.Options.Committer, Time: w.Options.Time, Message: w.Options.Message}
		if !c.tip.IsZero() {
			cm.Parents = []objects.ID{c.tip}
		}
		var err error
		if cm.Index, cm.Conflicts, err = c.b.editSettling(ctx, c.index, c.conflicts, w.Edits); err != nil {
			return err
		}
		if c.tip, err = c.b.writeCommitAfter(ctx, cm, c.tipHeight+1, c.tipTime); err != nil {
			return err
		}
		c.index, c.conflicts = cm.Index, cm.Conflicts
		c.tipHeight, c.tipTime = cm.Height, cm.CommitTime
		results[i].Commit = c.tip
	}
	return nil
}

// Store stores the chain's objects and moves its branch from the head it
// was built on to its last commit, in one synced step.
func (c *Chain) Store(ctx context.Context) error {
	if c.tip == c.head {
		return nil // every write was refused
	}
	keepAll := func(objects.ID) bool { return true }
	if err := c.qr.Promote(ctx, keepAll, objects.RefUpdate{Name: c.ref, Old: c.head, New: c.tip}); err != nil {
		return err
	}
	c.b.tree.Publish()
	return nil
}

// Discard drops what the chain holds that Store did not store.
func (c *Chain) Discard() { c.qr.Discard() }

// staged is a store whose writes go to a quarantine and whose reads see
// them, and the chain's before it (before), from memory first: what a
// chain of commits writes becomes visible with its ref. The store itself
// is read only for what neither chain wrote, so a chain built while the
// one before it is synced seldom waits for that sync. The quarantine
// holds the only copy of each object.
type staged struct {
	objects.Store
	chainObjects
	before *chainObjects
}

// adopter is a quarantine that can keep the bytes of the objects it is
// given instead of a copy, for callers that never change them again.
type adopter interface {
	Adopt(ctx context.Context, objs ...objects.Object) error
}

// chainObjects are the objects a chain put: their IDs, and the quarantine
// that holds them. The quarantine's Get and Has see them, then the store:
// once the chain is stored (and its quarantine spent) the store holds them.
type chainObjects struct {
	q   objects.Quarantine
	ids map[objects.ID]struct{}
}

// holder is the quarantine to read id from.
func (s *staged) holder(id objects.ID) objects.ObjectReader {
	if s.before != nil {
		if _, ok := s.before.ids[id]; ok {
			return s.before.q
		}
	}
	return s.q
}

func (s *staged) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	return s.holder(id).Get(ctx, id)
}

func (s *staged) Has(ctx context.Context, id objects.ID) (bool, error) {
	return s.holder(id).Has(ctx, id)
}

// Put adopts objs when the quarantine can (adopter): what a chain puts
// is encoded for it (nodes, commits) or handed to it (ChainWrite.Blobs),
// and nothing changes those bytes afterwards.
func (s *staged) Put(ctx context.Context, objs ...objects.Object) error {
	put := s.q.Put
	if a, ok := s.q.(adopter); ok {
		put = a.Adopt
	}
	if err := put(ctx, objs...); err != nil {
		return err
	}
	for _, o := range objs {
		s.ids[o.ID] = struct{}{}
	}
	return nil
}
