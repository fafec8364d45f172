package badgerstore

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// feedClock returns a clock that ticks one second per call from a fixed
// start, so the recorded times can be checked exactly.
func feedClock() func() time.Time {
	t := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func moveRef(t *testing.T, s *Store, name string, from, to objects.ID) {
	t.Helper()
	if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: name, Old: from, New: to}); err != nil {
		t.Fatal(err)
	}
}

// wantMoves reads the moves after since and checks their sequence numbers
// and refs.
func wantMoves(t *testing.T, s *Store, since uint64, wantLatest uint64, want ...objects.BranchMove) []objects.BranchMove {
	t.Helper()
	got, latest, err := s.Moves(t.Context(), since, 1000)
	if err != nil {
		t.Fatalf("Moves(%d): %v", since, err)
	}
	if latest != wantLatest || len(got) != len(want) {
		t.Fatalf("Moves(%d) = %d moves, latest %d; want %d, latest %d: %+v", since, len(got), latest, len(want), wantLatest, got)
	}
	for i, m := range got {
		w := want[i]
		if m.Seq != w.Seq || m.Ref != w.Ref || m.Old != w.Old || m.New != w.New {
			t.Errorf("move %d = %d %s %s->%s, want %d %s %s->%s", i, m.Seq, m.Ref, m.Old.Short(), m.New.Short(),
				w.Seq, w.Ref, w.Old.Short(), w.New.Short())
		}
	}
	return got
}

// TestFeedSurvivesRestart: branch moves (and only branch moves) get
// sequence numbers 1, 2, 3 ..., dated by the store's clock, and the
// numbering goes on after the store is closed and opened again.
func TestFeedSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	a, b, c := docBlob(1).ID, docBlob(2).ID, docBlob(3).ID
	s := openTemp(t, dir, Options{Create: true, Now: feedClock()})
	moveRef(t, s, "refs/heads/main", objects.ID{}, a)
	moveRef(t, s, "refs/tags/v1", objects.ID{}, a)                             // not a branch
	moveRef(t, s, objects.WorkingSetPrefix+"refs/heads/main", objects.ID{}, c) // not a branch
	if err := s.UpdateRefs(t.Context(),                                        // one update, two branches: two moves
		objects.RefUpdate{Name: "refs/heads/main", Old: a, New: b},
		objects.RefUpdate{Name: "refs/heads/dev", New: a}); err != nil {
		t.Fatal(err)
	}
	got := wantMoves(t, s, 0, 3,
		objects.BranchMove{Seq: 1, Ref: "refs/heads/main", New: a},
		objects.BranchMove{Seq: 2, Ref: "refs/heads/main", Old: a, New: b},
		objects.BranchMove{Seq: 3, Ref: "refs/heads/dev", New: a})
	if want := time.Date(2026, 1, 2, 3, 4, 6, 6, time.UTC); !got[0].Time.Equal(want) {
		t.Errorf("first move at %v, want %v", got[0].Time, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTemp(t, dir, Options{})
	defer s.Close()
	wantMoves(t, s, 2, 3, objects.BranchMove{Seq: 3, Ref: "refs/heads/dev", New: a})
	moveRef(t, s, "refs/heads/dev", a, objects.ID{}) // a deletion is a move too
	wantMoves(t, s, 3, 4, objects.BranchMove{Seq: 4, Ref: "refs/heads/dev", Old: a})
}

// TestFeedOnlyWhatCommitted: a refused compare-and-swap records nothing,
// and an update Badger retried after a conflict records its move once,
// with the number after the one that won.
func TestFeedOnlyWhatCommitted(t *testing.T) {
	t.Parallel()
	s, a, b, c := conflictFixture(t)
	if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: "refs/heads/main", Old: b, New: c}); !errors.Is(err, objects.ErrRefChanged) {
		t.Fatalf("stale update: %v", err)
	}
	wantMoves(t, s, 0, 1, objects.BranchMove{Seq: 1, Ref: "refs/heads/main", New: a})

	s.beforeRefCommit = func() {
		s.beforeRefCommit = nil
		moveRef(t, s, "refs/heads/other", objects.ID{}, b)
	}
	moveRef(t, s, "refs/heads/main", a, c)
	wantMoves(t, s, 1, 3,
		objects.BranchMove{Seq: 2, Ref: "refs/heads/other", New: b},
		objects.BranchMove{Seq: 3, Ref: "refs/heads/main", Old: a, New: c})
}

// TestFeedRetention: the feed keeps the last FeedKeep moves; a reader
// asking for moves after one it dropped, or after one it never gave out,
// gets ErrFeedReset and the latest number to go on from.
func TestFeedRetention(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	s := openTemp(t, dir, Options{Create: true, FeedKeep: 3})
	ids := []objects.ID{{}, docBlob(1).ID, docBlob(2).ID, docBlob(3).ID, docBlob(4).ID, docBlob(5).ID}
	for i := 1; i < len(ids); i++ {
		moveRef(t, s, "refs/heads/main", ids[i-1], ids[i])
	}
	for _, since := range []uint64{0, 1, 6, 1 << 63} {
		moves, latest, err := s.Moves(t.Context(), since, 10)
		if !errors.Is(err, objects.ErrFeedReset) || latest != 5 || len(moves) != 0 {
			t.Errorf("Moves(%d) = %d moves, latest %d, %v; want ErrFeedReset, latest 5", since, len(moves), latest, err)
		}
	}
	wantMoves(t, s, 2, 5,
		objects.BranchMove{Seq: 3, Ref: "refs/heads/main", Old: ids[2], New: ids[3]},
		objects.BranchMove{Seq: 4, Ref: "refs/heads/main", Old: ids[3], New: ids[4]},
		objects.BranchMove{Seq: 5, Ref: "refs/heads/main", Old: ids[4], New: ids[5]})
	wantMoves(t, s, 5, 5)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Stored entries are exactly the kept ones: nothing grows.
	db, err := rawBadger(t, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	txn := db.NewTransaction(false)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{changePrefix}})
	for it.Seek([]byte{changePrefix}); it.ValidForPrefix([]byte{changePrefix}); it.Next() {
		n++
	}
	it.Close()
	txn.Discard()
	db.Close()
	if n != 3 {
		t.Errorf("%d feed entries stored, want the 3 kept", n)
	}

	// A smaller retention at the next open applies at once.
	s = openTemp(t, dir, Options{FeedKeep: 2})
	defer s.Close()
	if _, _, err := s.Moves(t.Context(), 2, 10); !errors.Is(err, objects.ErrFeedReset) {
		t.Errorf("Moves(2) with FeedKeep 2: %v, want ErrFeedReset", err)
	}
	wantMoves(t, s, 3, 5,
		objects.BranchMove{Seq: 4, Ref: "refs/heads/main", Old: ids[3], New: ids[4]},
		objects.BranchMove{Seq: 5, Ref: "refs/heads/main", Old: ids[4], New: ids[5]})
}

// TestFeedMovedSignal: the channel from Moved closes at the next branch
// move, not at other ref updates.
func TestFeedMovedSignal(t *testing.T) {
	t.Parallel()
	s, a, b, _ := conflictFixture(t)
	ch := s.Moved()
	moveRef(t, s, "refs/tags/v1", objects.ID{}, a)
	select {
	case <-ch:
		t.Fatal("a tag closed the branch-move signal")
	default:
	}
	mustMove(t, s, a, b)
	select {
	case <-ch:
	default:
		t.Fatal("a branch move did not close the signal")
	}
	select {
	case <-s.Moved():
		t.Fatal("a new signal is closed before the next move")
	default:
	}
}

// TestFeedCorruptEntry: a damaged entry is an error, not a made-up move.
func TestFeedCorruptEntry(t *testing.T) {
	t.Parallel()
	good := encodeMove(objects.BranchMove{Ref: "refs/heads/main", New: docBlob(1).ID, Time: time.Unix(5, 0).UTC()})
	if _, err := decodeMove(good); err != nil {
		t.Fatalf("good entry: %v", err)
	}
	for name, v := range map[string][]byte{
		"short":        good[:moveFixed-1],
		"version":      append([]byte{2}, good[1:]...),
		"not a branch": append(bytes.Clone(good[:moveFixed]), "refs/tags/v1"...),
		"bad name":     append(bytes.Clone(good[:moveFixed]), "refs/heads/a..b"...),
	} {
		if _, err := decodeMove(v); !errors.Is(err, objects.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// FuzzDecodeMove: decodeMove never panics, and what it accepts encodes
// back to the same bytes.
func FuzzDecodeMove(f *testing.F) {
	f.Add(encodeMove(objects.BranchMove{Ref: "refs/heads/main", New: docBlob(1).ID, Time: time.Unix(5, 0).UTC()}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, v []byte) {
		m, err := decodeMove(v)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeMove(m), v) {
			t.Fatalf("decode then encode changed %x", v)
		}
	})
}
