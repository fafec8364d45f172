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
		wrote := writeOneCommit(t, b, fmt.Sprintf("buffered, by ref update: %v", byRef))
		id := wrote[2]
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
		var err error
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
		wrote := writeOneCommit(t, b, fmt.Sprintf("write %d", i))
		id := wrote[2]
		heads = append(heads, id)
		*cw = countingWrites{Store: cw.Store}
		err := store(ctx, objects.RefUpdate{Name: branch, Old: old, New: id})
		if i == 0 && err != nil {
			t.Fatal(err)
		}
		if i == 1 && !errors.Is(err, objects.ErrRefChanged) {
			t.Fatalf("a ref update from a value the ref does not hold: %v", err)
		}
		if i == 0 && (cw.promotes != 1 || cw.puts+cw.updates != 0) {
			t.Errorf("stored in %d promotes, %d puts and %d ref updates, want one promote", cw.promotes, cw.puts, cw.updates)
		}
		for _, o := range wrote {
			if ok, err := r.Store().Has(ctx, o); !ok || err != nil {
				t.Errorf("%s not stored (ref update %d): %v", o.Short(), i, err)
			}
		}
	}
	if got, err := r.RefOrZero(ctx, branch); err != nil || got != heads[0] {
		t.Fatalf("%s is at %s (%v), want %s", branch, got.Short(), err, heads[0].Short())
	}
}

// bufferedIndex writes a document and an index holding it through b, and
// returns the index's root node.
func bufferedIndex(t *testing.T, b *Repo, doc string) objects.ID {
	t.Helper()
	ctx := context.Background()
	e, err := b.WriteDocumentBytes(ctx, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := b.applyEdits(ctx, objects.ID{}, []Edit{{Key: "k", Entry: e}})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// held says whether r's store holds id, and whether r's tree holds it
// decoded.
func held(t *testing.T, r *Repo, id objects.ID) (stored, cached bool) {
	t.Helper()
	stored, err := r.Store().Has(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return stored, r.Tree().Cached(id) != nil
}

// A Buffered repository's tree hands the nodes it wrote to the
// repository's tree only once its store stored them: a store that failed
// leaves the repository's tree without them, as its store is. (A tree
// holding a node its store lacks reads a map the store cannot send.)
func TestBufferedPublishesOnlyWhatItStored(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	b, store := r.Buffered()
	idx := bufferedIndex(t, b, "published once stored")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := store(canceled); err == nil {
		t.Fatal("a store with its context canceled stored")
	}
	if stored, cached := held(t, r, idx); stored || cached {
		t.Fatalf("after a failed store, node %s stored: %v, in the repository's tree: %v", idx.Short(), stored, cached)
	}
	if err := store(context.Background()); err != nil {
		t.Fatal(err)
	}
	if stored, cached := held(t, r, idx); !stored || !cached {
		t.Fatalf("after the store, node %s stored: %v, in the repository's tree: %v", idx.Short(), stored, cached)
	}
}

// A Buffered repository made over a Buffered one is that one: what it
// writes waits for that one's store, and its own store (without ref
// updates) neither stores it nor hands its nodes to the repository's
// tree. A merge (merge.Converge, which buffers) inside a sync's buffer
// (remote.syncBranchOnce) writes so; made over the buffer as an Overlay
// of its Overlay, its store put its nodes in the outer buffer and
// published them to the repository's tree, whose store never got them
// if the sync then moved no branch.
func TestBufferedInBufferedWaitsForTheOuterStore(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	outer, storeOuter := r.Buffered()
	inner, storeInner := outer.Buffered()
	idx := bufferedIndex(t, inner, "written inside another buffer")
	if err := storeInner(context.Background()); err != nil {
		t.Fatal(err)
	}
	if stored, cached := held(t, r, idx); stored || cached {
		t.Fatalf("after the inner store, node %s stored: %v, in the repository's tree: %v", idx.Short(), stored, cached)
	}
	if stored, cached := held(t, outer, idx); !stored || !cached {
		t.Fatalf("the outer buffer does not read node %s back: stored %v, cached %v", idx.Short(), stored, cached)
	}
	if err := storeOuter(context.Background()); err != nil {
		t.Fatal(err)
	}
	if stored, cached := held(t, r, idx); !stored || !cached {
		t.Fatalf("after the outer store, node %s stored: %v, in the repository's tree: %v", idx.Short(), stored, cached)
	}
}

// writeOneCommit writes through r a document, an index naming it and a
// commit of that index, and returns their IDs in that order.
func writeOneCommit(t *testing.T, r *Repo, body string) []objects.ID {
	t.Helper()
	ctx := context.Background()
	e, err := r.WriteDocumentBytes(ctx, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := r.applyEdits(ctx, objects.ID{}, []Edit{{Key: "k", Entry: e}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := r.WriteCommit(ctx, &objects.Commit{Index: idx, Author: ada, Time: time.Unix(1_700_000_000, 0).UTC(), Message: "m"})
	if err != nil {
		t.Fatal(err)
	}
	return []objects.ID{e.ID, idx, id}
}
