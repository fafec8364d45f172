package repo

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// A Buffered repository reads back what it wrote, stores nothing until
// flush (or a ref update through it), and then all of it.
func TestBufferedStoresOnFlushOrRefUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newTestRepo(t)
	for _, byRef := range []bool{false, true} {
		b, flush := r.Buffered()
		e, err := b.WriteDocumentBytes(ctx, fmt.Appendf(nil, "buffered, by ref update: %v", byRef))
		if err != nil {
			t.Fatal(err)
		}
		idx, err := b.applyEdits(ctx, objects.ID{}, []Edit{{Key: "k", Entry: e}})
		if err != nil {
			t.Fatal(err)
		}
		id, err := b.WriteCommit(ctx, &objects.Commit{Index: idx, Author: ada, Time: time.Unix(1_700_000_000, 0).UTC(), Message: "m"})
		if err != nil {
			t.Fatal(err)
		}
		wrote := []objects.ID{e.ID, idx, id}
		if _, err := b.ReadCommit(ctx, id); err != nil {
			t.Fatalf("reading back what waits: %v", err)
		}
		for _, o := range wrote {
			if ok, err := r.Store().Has(ctx, o); ok || err != nil {
				t.Fatalf("%s stored before flush (%v)", o.Short(), err)
			}
		}
		if _, err := r.ReadCommit(ctx, id); err == nil {
			t.Fatal("the repository read a commit that waits")
		}
		if byRef {
			err = b.Store().UpdateRefs(ctx, objects.RefUpdate{Name: objects.BranchPrefix + "buffered", New: id})
		} else {
			err = flush(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range wrote {
			if ok, err := r.Store().Has(ctx, o); !ok || err != nil {
				t.Errorf("%s not stored after flush (by ref update: %v): %v", o.Short(), byRef, err)
			}
		}
	}
}

// countingWrites counts the writes made to a store: Puts, ref updates and
// quarantines' Promotes.
type countingWrites struct {
	objects.Store
	puts, updates, promotes int
}

func (c *countingWrites) Put(ctx context.Context, objs ...objects.Object) error {
	c.puts++
	return c.Store.Put(ctx, objs...)
}

func (c *countingWrites) UpdateRefs(ctx context.Context, updates ...objects.RefUpdate) error {
	c.updates++
	return c.Store.UpdateRefs(ctx, updates...)
}

func (c *countingWrites) Quarantine(ctx context.Context) (objects.Quarantine, error) {
	q, err := c.Store.(objects.Quarantiner).Quarantine(ctx)
	return &countingPromotes{Quarantine: q, c: c}, err
}

type countingPromotes struct {
	objects.Quarantine
	c *countingWrites
}

func (q *countingPromotes) Promote(ctx context.Context, keep func(objects.ID) bool, updates ...objects.RefUpdate) error {
	q.c.promotes++
	return q.Quarantine.Promote(ctx, keep, updates...)
}

// A Buffered repository stores what waits and moves the refs given to its
// store in one synced write (a quarantine's Promote, in a Badger store):
// a converging merge and the move of its branch were two. A ref that
// moved meanwhile moves nothing, and what waits is stored all the same: a
// sync that lost that race merges again on it.
func TestBufferedStoresWithItsRefUpdatesInOneWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newTestRepo(t)
	cw := &countingWrites{Store: r.store}
	r.store = cw
	const branch = objects.BranchPrefix + "x"
	var heads []objects.ID
	for i, old := range []objects.ID{{}, {1}} {
		b, store := r.Buffered()
		e, err := b.WriteDocumentBytes(ctx, fmt.Appendf(nil, "write %d", i))
		if err != nil {
			t.Fatal(err)
		}
		idx, err := b.applyEdits(ctx, objects.ID{}, []Edit{{Key: "k", Entry: e}})
		if err != nil {
			t.Fatal(err)
		}
		id, err := b.WriteCommit(ctx, &objects.Commit{Index: idx, Author: ada, Time: time.Unix(1_700_000_000, 0).UTC(), Message: "m"})
		if err != nil {
			t.Fatal(err)
		}
		heads = append(heads, id)
		*cw = countingWrites{Store: cw.Store}
		err = store(ctx, objects.RefUpdate{Name: branch, Old: old, New: id})
		if i == 0 && err != nil {
			t.Fatal(err)
		}
		if i == 1 && !errors.Is(err, objects.ErrRefChanged) {
			t.Fatalf("a ref update from a value the ref does not hold: %v", err)
		}
		if i == 0 && (cw.promotes != 1 || cw.puts+cw.updates != 0) {
			t.Errorf("stored in %d promotes, %d puts and %d ref updates, want one promote", cw.promotes, cw.puts, cw.updates)
		}
		for _, o := range []objects.ID{e.ID, idx, id} {
			if ok, err := r.Store().Has(ctx, o); !ok || err != nil {
				t.Errorf("%s not stored (ref update %d): %v", o.Short(), i, err)
			}
		}
	}
	if got, err := r.RefOrZero(ctx, branch); err != nil || got != heads[0] {
		t.Fatalf("%s is at %s (%v), want %s", branch, got.Short(), err, heads[0].Short())
	}
}
