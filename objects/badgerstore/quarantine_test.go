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

// A quarantine whose keys could not be dropped when its transfer was cut
// (here: the store could not be written then, as on a full disk) is
// reclaimed by the next collection of the running store, without a
// restart; a quarantine still open keeps its keys, at any age, and
// promotes whole.
func TestAbandonedQuarantineReclaimedWhileRunning(t *testing.T) {
	t.Parallel()
	s := openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
	defer s.Close()
	s.quarantineMemory = 0
	ctx := t.Context()
	open, err := s.Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kept := objects.EncodeBlob([]byte("an open push"))
	if err := open.Put(ctx, kept); err != nil {
		t.Fatal(err)
	}
	cut, err := s.Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cut.Put(ctx, objects.EncodeBlob([]byte("a cut push"))); err != nil {
		t.Fatal(err)
	}
	s.readOnly = true
	if err := cut.Discard(); err == nil {
		t.Fatal("Discard wrote to a store that could not be written")
	}
	s.readOnly = false
	if n := countPrefix(t, s, quarantinePrefix); n != 4 {
		t.Fatalf("%d quarantine keys, want 4 (2 open, 2 left by the cut push)", n)
	}

	for _, dry := range []bool{true, false} {
		c, err := s.BeginCollection(ctx, 0, dry)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sweep(ctx, func(objects.ID) bool { return true }, dry, nil); err != nil {
			t.Fatal(err)
		}
		want := 2
		if dry {
			want = 4
		}
		if n := countPrefix(t, s, quarantinePrefix); n != want {
			t.Errorf("dry run %v: %d quarantine keys after a collection, want %d (the open quarantine's)", dry, n, want)
		}
	}
	if err := open.Promote(ctx, func(objects.ID) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Has(ctx, kept.ID); !ok || err != nil {
		t.Errorf("the open quarantine's object after promoting: %v, %v", ok, err)
	}
	if n := countPrefix(t, s, quarantinePrefix); n != 0 {
		t.Errorf("%d quarantine keys at the end, want 0", n)
	}
}

// Put keeps a copy of what it is given, so a caller may reuse its buffer;
// Adopt keeps the bytes themselves (a chain of commits hands over what
// it encoded) and, past the memory budget, writes them to the database
// like Put. Either way Promote stores the objects as given.
func TestQuarantineAdoptKeepsTheBytesPutCopies(t *testing.T) {
	t.Parallel()
	s := openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
	defer s.Close()
	ctx := t.Context()
	put, adopted, spilled := objects.EncodeBlob([]byte("put")), objects.EncodeBlob([]byte("adopted")), objects.EncodeBlob([]byte("spilled"))
	s.quarantineMemory = int64(len(put.Data) + len(adopted.Data)) // spilled goes to the database
	qr, err := s.Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := qr.(*quarantine)
	if err := q.Put(ctx, put); err != nil {
		t.Fatal(err)
	}
	if err := q.Adopt(ctx, adopted, spilled); err != nil {
		t.Fatal(err)
	}
	same := func(a, b []byte) bool { return &a[0] == &b[0] }
	if same(q.mem[put.ID], put.Data) {
		t.Error("Put kept the caller's buffer, not a copy")
	}
	if !same(q.mem[adopted.ID], adopted.Data) {
		t.Error("Adopt kept a copy of the bytes it was handed")
	}
	if _, inMemory := q.mem[spilled.ID]; inMemory || !q.spilled {
		t.Error("Adopt past the memory budget kept the object in memory")
	}
	main := objects.RefUpdate{Name: "refs/heads/main", New: adopted.ID}
	if err := q.Promote(ctx, func(objects.ID) bool { return true }, main); err != nil {
		t.Fatal(err)
	}
	for _, o := range []objects.Object{put, adopted, spilled} {
		if data, err := s.Get(ctx, o.ID); err != nil || string(data) != string(o.Data) {
			t.Errorf("%s after Promote: %q, %v", o.ID.Short(), data, err)
		}
	}
	if n := s.quarantineBytes.Load(); n != 0 {
		t.Errorf("the quarantines still count %d bytes in memory after Promote", n)
	}
}
