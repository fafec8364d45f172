package badgerstore

import (
	"context"
	"errors"
	"testing"

	"github.com/folio-db/folio/objects"
)

func pinningQuarantine(t *testing.T, s *Store) *quarantine {
	t.Helper()
	q, err := s.Quarantine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Discard() })
	return q.(*quarantine)
}

// A pin made while a collection marks keeps its object from that
// collection's sweep, even once released; the next collection, which
// takes no pin, deletes it.
func TestPinDuringTheMarkKeepsUntilTheCollectionEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newCollectStore(t)
	x := blobObject("pinned while the gc marks")
	if err := s.Put(ctx, x); err != nil {
		t.Fatal(err)
	}
	c, err := s.BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	q := pinningQuarantine(t, s)
	if err := q.Pin(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	q.Discard()
	if st := sweepAll(t, c); st.Objects != 0 {
		t.Fatalf("the sweep deleted %d objects, want the pinned one kept", st.Objects)
	}
	mustHave(t, s, x, true)
	c, err = s.BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	sweepAll(t, c)
	mustHave(t, s, x, false)
}

// A quarantine that began before a sweep that deleted objects ended may
// have trusted one of them: its pins fail, as not found. One that began
// after pins as usual.
func TestPinFailsAfterASweepEndedDuringTheTransfer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newCollectStore(t)
	x := blobObject("trusted, then collected")
	if err := s.Put(ctx, x); err != nil {
		t.Fatal(err)
	}
	q := pinningQuarantine(t, s)
	c, err := s.BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if st := sweepAll(t, c); st.Objects != 1 {
		t.Fatalf("the sweep deleted %d objects, want 1", st.Objects)
	}
	err = q.Pin(ctx, x.ID)
	if !errors.Is(err, ErrCollected) || !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("a pin after a sweep that ended during the transfer: %v, want ErrCollected", err)
	}
	if err := pinningQuarantine(t, s).Pin(ctx, x.ID); err != nil {
		t.Fatalf("a pin of a transfer that began after the sweep: %v", err)
	}
}

// Nothing stays registered: a discarded quarantine's pins, a collection
// that ends without a sweep, and one that sweeps.
func TestPinsAndCollectionsLeaveNothingBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newCollectStore(t)
	q := pinningQuarantine(t, s)
	if err := q.Pin(ctx, blobObject("a").ID, blobObject("b").ID); err != nil {
		t.Fatal(err)
	}
	aborted, err := s.BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	swept, err := s.BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(aborted.pins.pending); n != 1 || len(aborted.pins.pending[0].ids) != 2 {
		t.Errorf("a collection took %d pins, want the one of 2 IDs held when it began", n)
	}
	aborted.End()
	aborted.End()
	q.Discard()
	sweepAll(t, swept)
	s.pins.mu.Lock()
	defer s.pins.mu.Unlock()
	if len(s.pins.collections) != 0 || len(s.pins.pinned) != 0 || q.pins != nil {
		t.Fatalf("left registered: %d collections, %d pinning quarantines, %d pins",
			len(s.pins.collections), len(s.pins.pinned), len(q.pins))
	}
}

// BenchmarkQuarantinePin: what a receive's pin of its ref value costs
// with no collection running, against a quarantine that pins nothing.
func BenchmarkQuarantinePin(b *testing.B) {
	ctx := context.Background()
	s, err := Open(b.TempDir(), Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tip := blobObject("tip").ID
	for _, pins := range []bool{false, true} {
		name := map[bool]string{false: "none", true: "one"}[pins]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				q, err := s.Quarantine(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if pins {
					if err := q.(*quarantine).Pin(ctx, tip); err != nil {
						b.Fatal(err)
					}
				}
				q.Discard()
			}
		})
	}
}

// A sweep walks the pins taken during its mark while their quarantines
// go on: one is promoted, and dropped, between the walk's look in the
// store and its look in the quarantine for the same object. The walk
// must not take that object for never stored: what it reaches (x, old
// and trusted) would go unkept. Failed before: the sweep deleted x under
// main.
func TestPinWalkSeesAPromoteBetweenItsLooks(t *testing.T) {
	ctx := context.Background()
	s := newCollectStore(t)
	x := blobObject("old, trusted by the receive")
	if err := s.Put(ctx, x); err != nil {
		t.Fatal(err)
	}
	y := (&objects.Commit{Index: x.ID, Height: 1, Message: "names x"}).Encode()
	q := pinningQuarantine(t, s)
	if err := q.Put(ctx, y); err != nil {
		t.Fatal(err)
	}
	if err := q.Pin(ctx, y.ID); err != nil {
		t.Fatal(err)
	}
	c, err := s.BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	promoted := false
	promote := func() {
		if !promoted {
			promoted = true
			keepAll := func(objects.ID) bool { return true }
			if err := q.Promote(ctx, keepAll, objects.RefUpdate{Name: "refs/heads/main", New: y.ID}); err != nil {
				t.Error(err)
			}
		}
	}
	pinLookStep = func(objects.ID) { promote() }
	defer func() { pinLookStep = nil }()
	sweepAll(t, c)
	promote() // if the walk never missed
	mustHave(t, s, y, true)
	mustHave(t, s, x, true)
}
