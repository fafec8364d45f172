package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

const manyRefs = 100_000

func manyUpdates(n int, old, new objects.ID) []objects.RefUpdate {
	updates := make([]objects.RefUpdate, n)
	for i := range updates {
		updates[i] = objects.RefUpdate{Name: fmt.Sprintf("refs/tags/t%06d", i), Old: old, New: new}
	}
	return updates
}

func countRefs(t *testing.T, s *Store, want objects.ID) int {
	t.Helper()
	refs, err := s.Refs(t.Context(), "refs/tags/")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if r.ID != want {
			t.Fatalf("%s = %s, want %s", r.Name, r.ID.Short(), want.Short())
		}
	}
	return len(refs)
}

// One update of 100,000 refs (more than a Badger transaction holds) is
// applied whole; one whose last compare-and-swap fails changes nothing.
func TestUpdateOfManyRefs(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	s := openTemp(t, dir, Options{Create: true})
	defer s.Close()
	a, b := docBlob(1).ID, docBlob(2).ID
	if err := s.UpdateRefs(t.Context(), manyUpdates(manyRefs, objects.ID{}, a)...); err != nil {
		t.Fatalf("creating %d refs: %v", manyRefs, err)
	}
	if n := countRefs(t, s, a); n != manyRefs {
		t.Fatalf("%d refs, want %d", n, manyRefs)
	}
	stale := manyUpdates(manyRefs, a, b)
	stale[len(stale)-1].Old = b
	if err := s.UpdateRefs(t.Context(), stale...); !errors.Is(err, objects.ErrRefChanged) {
		t.Fatalf("a large update with a stale ref: %v, want ErrRefChanged", err)
	}
	if n := countRefs(t, s, a); n != manyRefs {
		t.Fatalf("after the refused update: %d refs at a, want %d", n, manyRefs)
	}
}

// A journal that was decided before a crash is applied when the store
// opens again; one that was not is dropped. Sets and deletes both.
func TestRefJournalAfterACrash(t *testing.T) {
	t.Parallel()
	a, b := docBlob(1).ID, docBlob(2).ID
	for _, decided := range []bool{true, false} {
		dir := filepath.Join(t.TempDir(), "store")
		s := openTemp(t, dir, Options{Create: true})
		if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: "refs/heads/gone", New: a}); err != nil {
			t.Fatal(err)
		}
		journal := []objects.RefUpdate{{Name: "refs/heads/gone"}, {Name: "refs/heads/new", New: b}}
		if err := s.writeJournal(journal); err != nil {
			t.Fatal(err)
		}
		if decided {
			if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(journalDone), nil) }); err != nil {
				t.Fatal(err)
			}
		}
		s.Close() // the crash: nothing applied yet
		s = openTemp(t, dir, Options{})
		refs, err := s.Refs(t.Context(), "refs/")
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := []objects.Ref{{Name: "refs/heads/gone", ID: a}}
		if decided {
			want = []objects.Ref{{Name: "refs/heads/new", ID: b}}
		}
		if !slices.Equal(refs, want) {
			t.Fatalf("decided %v: refs %v after reopening, want %v", decided, refs, want)
		}
	}
}

func TestChunkRoundTrip(t *testing.T) {
	updates := []objects.RefUpdate{{Name: "refs/heads/a", New: docBlob(1).ID}, {Name: "refs/tags/b"}, {Name: "refs/heads/ü", New: docBlob(2).ID}}
	got, err := decodeChunk(encodeChunk(updates))
	if err != nil || !slices.Equal(got, updates) {
		t.Fatalf("decoded %v, %v; want %v", got, err, updates)
	}
}

// FuzzDecodeChunk: a damaged journal chunk is an error, never a panic, and
// one that decodes encodes back to the same bytes.
func FuzzDecodeChunk(f *testing.F) {
	f.Add(encodeChunk([]objects.RefUpdate{{Name: "refs/heads/a", New: docBlob(1).ID}, {Name: "refs/tags/b"}}))
	f.Add([]byte{1, 'a', 2})
	f.Add([]byte{0x81, 0x00, 'a', 0}) // an overlong length
	f.Fuzz(func(t *testing.T, data []byte) {
		updates, err := decodeChunk(data)
		if err != nil {
			return
		}
		if again := encodeChunk(updates); !bytes.Equal(again, data) {
			t.Fatalf("%x decodes to %v, which encodes to %x", data, updates, again)
		}
	})
}

// An update of more refs than one transaction holds records what every ref
// move records (writeRefs): a change-feed entry per branch moved, in
// order, wakes the feed's waiters, and keeps the values the refs left for
// gc's grace period, whether it is applied at once or after a crash.
func TestManyRefsUpdateRecordsLikeOne(t *testing.T) {
	t.Parallel()
	n := 3 * refChunkCount
	branches := func(old, new objects.ID) []objects.RefUpdate {
		updates := make([]objects.RefUpdate, n)
		for i := range updates {
			updates[i] = objects.RefUpdate{Name: fmt.Sprintf("refs/heads/b%06d", i), Old: old, New: new}
		}
		return updates
	}
	check := func(s *Store, what string, latest uint64, retired ...objects.ID) {
		t.Helper()
		moves, got, err := s.Moves(t.Context(), latest-3, 10)
		if err != nil || got != latest || len(moves) != 3 || moves[2].Seq != latest || moves[2].Ref != fmt.Sprintf("refs/heads/b%06d", n-1) {
			t.Errorf("%s: latest move %d (%v), last moves %v; want %d, ending with the last branch", what, got, err, moves, latest)
		}
		if c := countPrefix(t, s, retiredPrefix); c != len(retired) {
			t.Errorf("%s: %d retired values, want %d", what, c, len(retired))
		}
		for _, id := range retired {
			if _, err := s.get(t.Context(), retiredKey(id), id); err != nil {
				t.Errorf("%s: %s not kept as retired: %v", what, id.Short(), err)
			}
		}
	}
	a, b, c := docBlob(1).ID, docBlob(2).ID, docBlob(3).ID
	dir := filepath.Join(t.TempDir(), "store")
	s := openTemp(t, dir, Options{Create: true, FeedKeep: 2 * n})
	if err := s.UpdateRefs(t.Context(), branches(objects.ID{}, a)...); err != nil {
		t.Fatal(err)
	}
	check(s, "created", uint64(n))
	moved := s.Moved()
	if err := s.UpdateRefs(t.Context(), branches(a, b)...); err != nil {
		t.Fatal(err)
	}
	select {
	case <-moved:
	default:
		t.Error("the feed's waiters were not woken")
	}
	check(s, "moved", uint64(2*n), a)

	// Decided before a crash, applied by the next open.
	if err := s.writeJournal(branches(b, c)); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(journalDone), nil) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTemp(t, dir, Options{FeedKeep: 3 * n})
	defer s.Close()
	check(s, "applied after a crash", uint64(3*n), a, b)
}
