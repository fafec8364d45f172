package badgerstore

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
)

// The tests below make Badger abort UpdateRefs' transaction with a
// conflict, deterministically: between UpdateRefs reading the ref and
// committing, another update moves it. badger.ErrConflict must never reach
// the caller.

// TestConflictBecomesRefChanged: the other update moved the ref away, so
// the retry finds another value and reports objects.ErrRefChanged.
func TestConflictBecomesRefChanged(t *testing.T) {
	s, a, b, c := conflictFixture(t)
	s.beforeRefCommit = func() {
		s.beforeRefCommit = nil
		mustMove(t, s, a, b)
	}
	err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: "refs/heads/main", Old: a, New: c})
	if !errors.Is(err, objects.ErrRefChanged) {
		t.Fatalf("UpdateRefs that lost a race: %v, want objects.ErrRefChanged", err)
	}
	wantMain(t, s, b)
}

// TestConflictRetried: the other updates moved the ref away and back, so
// the value is still the expected one and the retry succeeds.
func TestConflictRetried(t *testing.T) {
	s, a, b, c := conflictFixture(t)
	s.beforeRefCommit = func() {
		s.beforeRefCommit = nil
		mustMove(t, s, a, b)
		mustMove(t, s, b, a)
	}
	if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: "refs/heads/main", Old: a, New: c}); err != nil {
		t.Fatalf("UpdateRefs whose first attempt conflicted: %v", err)
	}
	wantMain(t, s, c)
}

func conflictFixture(t *testing.T) (s *Store, a, b, c objects.ID) {
	s = openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
	t.Cleanup(func() { s.Close() })
	a, b, c = docBlob(1).ID, docBlob(2).ID, docBlob(3).ID
	if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: "refs/heads/main", New: a}); err != nil {
		t.Fatal(err)
	}
	return s, a, b, c
}

func mustMove(t *testing.T, s *Store, from, to objects.ID) {
	t.Helper()
	if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: "refs/heads/main", Old: from, New: to}); err != nil {
		t.Fatal(err)
	}
}

func wantMain(t *testing.T, s *Store, want objects.ID) {
	t.Helper()
	if got, err := s.Ref(t.Context(), "refs/heads/main"); err != nil || got != want {
		t.Fatalf("main = %s, %v, want %s", got.Short(), err, want.Short())
	}
}
