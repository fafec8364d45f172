package badgerstore

import (
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
)

// A process that dies with a quarantine open leaves its keys; the next
// read-write open drops them, and none of it ever shows.
func TestQuarantineLeftoversDroppedOnOpen(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	s := openTemp(t, dir, Options{Create: true})
	s.quarantineMemory = 0
	q, err := s.Quarantine(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	obj := objects.EncodeBlob([]byte("cut off"))
	if err := q.Put(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	if n := countPrefix(t, s, quarantinePrefix); n != 2 {
		t.Fatalf("%d quarantine keys, want 2 (object and order)", n)
	}
	s.Close() // no Discard: as if the process died

	ro := openTemp(t, dir, Options{ReadOnly: true})
	if ok, _ := ro.Has(t.Context(), obj.ID); ok {
		t.Error("a leftover quarantine shows to a reader")
	}
	ro.Close()
	s = openTemp(t, dir, Options{})
	defer s.Close()
	if n := countPrefix(t, s, quarantinePrefix); n != 0 {
		t.Errorf("%d quarantine keys after a read-write open, want 0", n)
	}
	if _, err := s.Quarantine(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// Discard leaves no key behind, and neither does Promote, of objects
// kept in memory and in the database alike.
func TestQuarantineLeavesNoKeys(t *testing.T) {
	t.Parallel()
	s := openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
	defer s.Close()
	a, b := objects.EncodeBlob([]byte("a")), objects.EncodeBlob([]byte("b"))
	s.quarantineMemory = int64(len(a.Data)) // a in memory, b in the database
	for _, promote := range []bool{false, true} {
		q, err := s.Quarantine(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Put(t.Context(), a, b); err != nil {
			t.Fatal(err)
		}
		if n := countPrefix(t, s, quarantinePrefix); n != 2 {
			t.Fatalf("%d quarantine keys, want 2 (b and its place)", n)
		}
		if promote {
			err = q.Promote(t.Context(), func(objects.ID) bool { return true })
		} else {
			err = q.Discard()
		}
		if err != nil {
			t.Fatal(err)
		}
		if n := countPrefix(t, s, quarantinePrefix); n != 0 {
			t.Errorf("promote=%v: %d quarantine keys left", promote, n)
		}
		if n := s.quarantineBytes.Load(); n != 0 {
			t.Errorf("promote=%v: %d bytes of quarantine left in memory", promote, n)
		}
		for _, o := range []objects.Object{a, b} {
			if ok, _ := s.Has(t.Context(), o.ID); ok != promote {
				t.Errorf("promote=%v: %s visible: %v", promote, o.ID.Short(), ok)
			}
		}
	}
}
