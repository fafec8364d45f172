package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/folio-db/folio/objects"
)

// TestBulkLoad loads objects in the order a clone's pack brings them (a
// long run in ID order, then others in any order, some twice), with so
// little memory for the out-of-order ones that they go to several runs
// of the temporary file, plus a document large enough for the value log.
// Every object must read back, nothing else be there, and the store must
// reopen (its format record kept) and take refs afterwards.
func TestBulkLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	s, err := Open(dir, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	var all []objects.Object
	for i := range 3000 {
		all = append(all, objects.EncodeBlob(fmt.Appendf(nil, "document %d %x", i, rng.Uint64())))
	}
	all = append(all, objects.EncodeBlob(bytes.Repeat([]byte("large "), 100_000))) // > valueThreshold
	sorted := slices.SortedFunc(slices.Values(all[:2000]), func(a, b objects.Object) int { return a.ID.Compare(b.ID) })
	rest := slices.Clone(all[2000:])
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	rest = append(rest, rest[3], sorted[5]) // twice: once in the rest, once in the main stream

	bl, err := s.BulkLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bl.(*bulkLoad).restMemory = 4 << 10
	for chunk := range slices.Chunk(sorted, 700) {
		if err := bl.Put(ctx, chunk...); err != nil {
			t.Fatal(err)
		}
	}
	for chunk := range slices.Chunk(rest, 90) {
		if err := bl.Put(ctx, chunk...); err != nil {
			t.Fatal(err)
		}
	}
	if runs := len(bl.(*bulkLoad).runs); runs < 3 {
		t.Fatalf("%d runs spilled, want several", runs)
	}
	if err := bl.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	checkLoaded(t, s, all)

	head := objects.RefUpdate{Name: objects.BranchPrefix + "main", New: all[0].ID}
	if err := s.UpdateRefs(ctx, head); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after a bulk load: %v", err)
	}
	defer s.Close()
	checkLoaded(t, s, all)
	if got, err := s.Ref(ctx, head.Name); err != nil || got != head.New {
		t.Fatalf("ref after reopen: %v, %v", got, err)
	}
}

// checkLoaded checks that s holds exactly objs, each readable.
func checkLoaded(t *testing.T, s *Store, objs []objects.Object) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		data, err := s.Get(ctx, o.ID)
		if err != nil || !bytes.Equal(data, o.Data) {
			t.Fatalf("object %s: %v", o.ID.Short(), err)
		}
	}
	n := 0
	if err := s.Objects(ctx, nil, func(objects.ID, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != len(objs) {
		t.Fatalf("the store holds %d objects, want %d", n, len(objs))
	}
}

// TestBulkLoadRefusesAStoreWithObjects: a load drops what the store held,
// so it starts only on a store without objects, and changes nothing there.
func TestBulkLoadRefusesAStoreWithObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "store"), Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	obj := objects.EncodeBlob([]byte("already here"))
	if err := s.Put(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BulkLoad(ctx); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("BulkLoad on a store with objects: %v, want ErrNotEmpty", err)
	}
	checkLoaded(t, s, []objects.Object{obj})
}

// BenchmarkBulkLoad is BenchmarkPut through a bulk load, as a clone
// writes its pack: the documents in ID order (a pack's blobs come in
// store order), in Puts of about 16 MiB, then Finish and Close.
func BenchmarkBulkLoad(b *testing.B) {
	docs, _ := benchDocBlobs(b)
	docs = slices.SortedFunc(slices.Values(docs), func(a, b objects.Object) int { return a.ID.Compare(b.ID) })
	ctx := context.Background()
	for b.Loop() {
		s := openTemp(b, filepath.Join(b.TempDir(), "store"), Options{Create: true})
		bl, err := s.BulkLoad(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for chunk := range slices.Chunk(docs, 16_000) {
			if err := bl.Put(ctx, chunk...); err != nil {
				b.Fatal(err)
			}
		}
		if err := bl.Finish(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCreatingSessionCompactsIntoFullTables: the session that creates a
// store (repo.Init, and whatever a program goes on to write in it, as a
// server started on a new repository does) makes tables no smaller than a
// later session's. Its small tables were meant for a bulk load; its
// compactions made them too (256 KiB: 156 tables for 45 MiB after 6,000
// document API writes), and Badger's table builder allocates and clears a
// 3 MiB index buffer for every table, whatever its size: 14% of the CPU
// of those writes.
func TestCreatingSessionCompactsIntoFullTables(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	smallest := func(s *Store) int64 {
		least := int64(math.MaxInt64)
		for _, l := range s.db.Levels()[1:] {
			least = min(least, l.TargetFileSize)
		}
		return least
	}
	s := openTemp(t, dir, Options{Create: true})
	creating := smallest(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTemp(t, dir, Options{})
	defer s.Close()
	if later := smallest(s); creating < later {
		t.Errorf("the creating session compacts into tables of %d KiB, a later one into tables of %d KiB", creating>>10, later>>10)
	}
}
