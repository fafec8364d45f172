package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/folio-db/folio/objects"
)

func changeFeed(t *testing.T, s objects.Store) objects.ChangeFeed {
	t.Helper()
	f, ok := s.(objects.ChangeFeed)
	if !ok {
		t.Fatalf("%T keeps no change feed (objects.ChangeFeed)", s)
	}
	return f
}

func moves(t *testing.T, f objects.ChangeFeed, since uint64, limit int) ([]objects.BranchMove, uint64) {
	t.Helper()
	ms, latest, err := f.Moves(t.Context(), since, limit)
	if err != nil {
		t.Fatalf("Moves(%d, %d): %v", since, limit, err)
	}
	return ms, latest
}

// testFeed: branch moves, and only they, are numbered 1, 2, 3 ... in the
// order they committed (a batch in its order); a refused update records
// nothing; Moved closes at the next move; since and limit select, and a
// since beyond the latest is ErrFeedReset.
func testFeed(t *testing.T, s objects.Store) {
	f := changeFeed(t, s)
	if ms, latest := moves(t, f, 0, 10); len(ms) != 0 || latest != 0 {
		t.Fatalf("a new store's feed: %d moves, latest %d", len(ms), latest)
	}
	a, b := blob("a").ID, blob("b").ID
	signal := f.Moved()
	mustUpdate(t, s, objects.RefUpdate{Name: "refs/tags/v1", New: a})
	mustUpdate(t, s, objects.RefUpdate{Name: objects.WorkingSetPrefix + mainRef, New: a})
	select {
	case <-signal:
		t.Fatal("Moved closed for refs that are not branches")
	default:
	}
	mustUpdate(t, s, objects.RefUpdate{Name: mainRef, New: a})
	select {
	case <-signal:
	default:
		t.Fatal("Moved did not close at a branch move")
	}
	mustUpdate(t, s, objects.RefUpdate{Name: mainRef, Old: a, New: b}, objects.RefUpdate{Name: "refs/heads/dev", New: a})
	if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: mainRef, Old: a, New: a}); !errors.Is(err, objects.ErrRefChanged) {
		t.Fatalf("stale update: %v", err)
	}
	want := []objects.BranchMove{
		{Seq: 1, Ref: mainRef, New: a},
		{Seq: 2, Ref: mainRef, Old: a, New: b},
		{Seq: 3, Ref: "refs/heads/dev", New: a},
	}
	got, latest := moves(t, f, 0, 10)
	if latest != 3 || len(got) != len(want) {
		t.Fatalf("feed: %+v, latest %d; want %+v", got, latest, want)
	}
	for i, m := range got {
		w := want[i]
		if m.Seq != w.Seq || m.Ref != w.Ref || m.Old != w.Old || m.New != w.New || m.Time.IsZero() {
			t.Errorf("move %d = %+v, want %+v", i, m, w)
		}
	}
	if ms, _ := moves(t, f, 1, 1); len(ms) != 1 || ms[0].Seq != 2 {
		t.Errorf("Moves(1, 1) = %+v, want move 2", ms)
	}
	if ms, _ := moves(t, f, 3, 10); len(ms) != 0 {
		t.Errorf("Moves(latest) = %+v, want none", ms)
	}
	if _, latest, err := f.Moves(t.Context(), 4, 10); !errors.Is(err, objects.ErrFeedReset) || latest != 3 {
		t.Errorf("Moves(latest+1) = latest %d, %v; want 3, ErrFeedReset", latest, err)
	}
}

// testFeedConcurrent: branch moves made at once on several branches get
// every number from 1 once, and each branch's moves are in its order.
func testFeedConcurrent(t *testing.T, s objects.Store) {
	f := changeFeed(t, s)
	const writers, each = 6, 8
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			var cur objects.ID
			for i := range each {
				next := blob(fmt.Sprintf("writer %d move %d", w, i)).ID
				if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: fmt.Sprintf("refs/heads/w%d", w), Old: cur, New: next}); err != nil {
					t.Error(err)
					return
				}
				cur = next
			}
		})
	}
	wg.Wait()
	got, latest := moves(t, f, 0, 1000)
	if latest != writers*each || len(got) != writers*each {
		t.Fatalf("%d moves, latest %d; want %d", len(got), latest, writers*each)
	}
	last := map[string]objects.ID{}
	for i, m := range got {
		if m.Seq != uint64(i+1) {
			t.Fatalf("move %d has seq %d", i, m.Seq)
		}
		if m.Old != last[m.Ref] {
			t.Fatalf("move %d of %s does not follow the one before", m.Seq, m.Ref)
		}
		last[m.Ref] = m.New
	}
}

// A branch moved by a quarantine's Promote (a push or fetch) is in the
// change feed like one moved by UpdateRefs, and wakes its waiters.
func testFeedOfPromote(t *testing.T, s objects.Store) {
	f := changeFeed(t, s)
	a := blob("pushed")
	qr, err := s.Quarantine(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := qr.Put(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	signal := f.Moved()
	keepAll := func(objects.ID) bool { return true }
	if err := qr.Promote(t.Context(), keepAll, objects.RefUpdate{Name: mainRef, New: a.ID}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-signal:
	default:
		t.Fatal("Moved did not close at a promoted branch move")
	}
	got, latest := moves(t, f, 0, 10)
	if latest != 1 || len(got) != 1 || got[0].Ref != mainRef || got[0].New != a.ID {
		t.Fatalf("feed after a promote: %+v (latest %d), want main -> %s", got, latest, a.ID.Short())
	}
}
