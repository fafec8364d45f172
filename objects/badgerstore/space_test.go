package badgerstore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
)

// A store whose filesystem has less free space than it keeps in reserve
// refuses every write with ErrNoSpace and writes nothing, and still reads:
// the error path of a full disk, which always runs (the CLI test with a
// real full tmpfs needs mount permission).
func TestWritesRefusedWhenTheDiskIsFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	s := openTemp(t, dir, Options{Create: true})
	kept := objects.EncodeBlob([]byte("committed before the disk filled\n"))
	if err := s.Put(ctx, kept); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", New: kept.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// More reserve than any disk has: the disk is "full".
	full := Options{MinFreeBytes: 1 << 62}
	if _, err := Open(dir, full); !errors.Is(err, objects.ErrNoSpace) {
		t.Fatalf("read-write open on a full disk: %v, want ErrNoSpace", err)
	}

	// An open store whose disk fills up.
	s = openTemp(t, dir, Options{})
	s.minFree = 1 << 62
	lost := objects.EncodeBlob([]byte("written on a full disk\n"))
	if err := s.Put(ctx, lost); !errors.Is(err, objects.ErrNoSpace) {
		t.Fatalf("Put on a full disk: %v, want ErrNoSpace", err)
	}
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", Old: kept.ID, New: lost.ID}); !errors.Is(err, objects.ErrNoSpace) {
		t.Fatalf("UpdateRefs on a full disk: %v, want ErrNoSpace", err)
	}
	if has, err := s.Has(ctx, lost.ID); err != nil || has {
		t.Fatalf("the refused object is stored: %v %v", has, err)
	}
	if ref, err := s.Ref(ctx, "refs/heads/main"); err != nil || ref != kept.ID {
		t.Fatalf("main is %s (%v), want %s", ref.Short(), err, kept.ID.Short())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reads need no space.
	s = openTemp(t, dir, Options{ReadOnly: true, MinFreeBytes: 1 << 62})
	defer s.Close()
	if data, err := s.Get(ctx, kept.ID); err != nil || string(data) != string(kept.Data) {
		t.Fatalf("read on a full disk: %q %v", data, err)
	}
}

// A quarantine that took its objects before the disk filled is refused
// when it is promoted: neither its objects nor its ref update are written.
func TestPromoteRefusedWhenTheDiskIsFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
	defer s.Close()
	q, err := s.Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	obj := objects.EncodeBlob([]byte("arrived before the disk filled\n"))
	if err := q.Put(ctx, obj); err != nil {
		t.Fatal(err)
	}
	s.minFree = 1 << 62
	keepAll := func(objects.ID) bool { return true }
	if err := q.Promote(ctx, keepAll, objects.RefUpdate{Name: "refs/heads/main", New: obj.ID}); !errors.Is(err, objects.ErrNoSpace) {
		t.Fatalf("Promote on a full disk: %v, want ErrNoSpace", err)
	}
	if has, err := s.Has(ctx, obj.ID); err != nil || has {
		t.Fatalf("the refused object is stored: %v %v", has, err)
	}
	if ref, err := s.Ref(ctx, "refs/heads/main"); !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("main is %s (%v), want no such ref", ref.Short(), err)
	}
}
