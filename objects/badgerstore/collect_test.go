package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

func newCollectStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func blobObject(s string) objects.Object {
	return objects.Object{ID: objects.Hash([]byte(s)), Data: []byte(s)}
}

func sweepAll(t *testing.T, c *Collection) SweepStats {
	t.Helper()
	st, err := c.Sweep(context.Background(), func(objects.ID) bool { return false }, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func mustHave(t *testing.T, s *Store, o objects.Object, want bool) {
	t.Helper()
	ok, err := s.Has(context.Background(), o.ID)
	if err != nil || ok != want {
		t.Fatalf("Has(%s) = %v, %v; want %v", o.Data, ok, err, want)
	}
}

// A re-put of an object freshens it: a collection that began before the
// put does not delete it, whether the put comes before the walk or between
// the walk and the delete.
func TestCollectionSparesFreshenedObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newCollectStore(t)
	a, b, old := blobObject("a"), blobObject("b"), blobObject("old")
	if err := s.Put(ctx, a, b, old); err != nil {
		t.Fatal(err)
	}
	c, err := s.BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, a); err != nil { // before the walk
		t.Fatal(err)
	}
	var walked int
	st, err := c.Sweep(ctx, func(id objects.ID) bool {
		walked++
		if walked == 1 {
			if err := s.Put(ctx, b); err != nil { // after the walk saw b as old
				t.Error(err)
			}
		}
		return false
	}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustHave(t, s, a, true)
	mustHave(t, s, b, true)
	mustHave(t, s, old, false)
	if st.Objects != 1 {
		t.Errorf("deleted %d objects, want 1", st.Objects)
	}
}

// Objects kept in memory (Options.RecentBytes) that a collection deleted
// are gone: the store says it lacks them, and cannot read them.
func TestCollectionDeletesRecentObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{Create: true, RecentBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	put, read := blobObject("put"), blobObject("read")
	if err := s.Put(ctx, put, read); err != nil {
		t.Fatal(err)
	}
	c, err := s.BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Sweep(ctx, func(objects.ID) bool {
		if _, err := s.Get(ctx, read.ID); err != nil { // read during the walk
			t.Error(err)
		}
		return false
	}, false, nil)
	if err != nil || st.Objects != 2 {
		t.Fatalf("sweep: %+v, %v; want 2 objects deleted", st, err)
	}
	for _, o := range []objects.Object{put, read} {
		mustHave(t, s, o, false)
		if _, err := s.Get(ctx, o.ID); !errors.Is(err, objects.ErrNotFound) {
			t.Errorf("Get(%s) after it was deleted: %v, want ErrNotFound", o.Data, err)
		}
	}
}

// The grace period: objects written before a time mark older than the
// grace go, those written after it stay.
func TestCollectionHonoursTimeMarks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newCollectStore(t)
	before, after := blobObject("before"), blobObject("after")
	if err := s.Put(ctx, before); err != nil {
		t.Fatal(err)
	}
	threeWeeks := time.Now().Add(-21 * 24 * time.Hour).Unix()
	if err := s.writeMark(threeWeeks); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, after); err != nil {
		t.Fatal(err)
	}
	// No mark is a month old: nothing is old enough.
	c, err := s.BeginCollection(ctx, 30*24*time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if st := sweepAll(t, c); st.Objects != 0 {
		t.Fatalf("a 30-day grace with marks three weeks old deleted %d objects", st.Objects)
	}
	c, err = s.BeginCollection(ctx, 14*24*time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Cutoff.Unix(); got != threeWeeks {
		t.Errorf("cutoff %v, want the mark three weeks ago", c.Cutoff)
	}
	sweepAll(t, c)
	mustHave(t, s, before, false)
	mustHave(t, s, after, true)
}

// A value a ref leaves is a root for the grace period; after it, it is not.
func TestRetiredRefValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newCollectStore(t)
	v1, v2 := blobObject("v1"), blobObject("v2")
	if err := s.Put(ctx, v1, v2); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/x", New: v1.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.writeMark(time.Now().Add(-20 * 24 * time.Hour).Unix()); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/x", Old: v1.ID, New: v2.ID}); err != nil {
		t.Fatal(err)
	}
	retired := func(c *Collection) []objects.ID {
		var ids []objects.ID
		if err := c.Retired(ctx, func(id objects.ID) error { ids = append(ids, id); return nil }); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	c, err := s.BeginCollection(ctx, 14*24*time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := retired(c); len(got) != 1 || got[0] != v1.ID {
		t.Fatalf("retired within the grace period: %v, want v1", got)
	}
	c, err = s.BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := retired(c); len(got) != 0 {
		t.Fatalf("gc --prune=now still protects %v", got)
	}
	sweepAll(t, c) // drops the expired record too
	c, err = s.BeginCollection(ctx, 14*24*time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := retired(c); len(got) != 0 {
		t.Fatalf("an expired retired value survived the sweep: %v", got)
	}
}

// UpdateRefs leaves a time mark at most once per markEvery, and the
// marks are read back after a reopen.
func TestTimeMarksAreRateLimited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		o := blobObject(fmt.Sprint(i))
		if err := s.Put(ctx, o); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: fmt.Sprintf("refs/heads/b%d", i), New: o.ID}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/b0", Old: blobObject("0").ID}); err != nil {
		t.Fatal(err)
	}
	if n := countPrefix(t, s, markPrefix); n != 1 {
		t.Errorf("%d time marks after six ref updates within an hour, want 1", n)
	}
}

func countPrefix(t *testing.T, s *Store, p byte) int {
	t.Helper()
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{p}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Deleted objects give their disk space back: in the tables and in the
// value log (eight puts of one 2 MiB object, issue 9).
func TestReclaimGivesSpaceBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	big := objects.Object{Data: make([]byte, 2<<20)}
	for i := range big.Data {
		big.Data[i] = byte(i * 7 / 3)
	}
	big.ID = objects.Hash(big.Data)
	for range 8 {
		if err := s.Put(ctx, big); err != nil {
			t.Fatal(err)
		}
	}
	var small []objects.Object
	for i := range 20000 {
		small = append(small, blobObject(fmt.Sprintf("document %d %0900d", i, i)))
	}
	if err := s.Put(ctx, small...); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	before := dirSize(t, dir)
	c, err := s.BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if st := sweepAll(t, c); st.Objects != 20001 {
		t.Fatalf("swept %d objects, want 20001", st.Objects)
	}
	if err := s.Reclaim(ctx, true, 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	after := dirSize(t, dir)
	if after > before/4 || after > 4<<20 {
		t.Errorf("store took %d bytes before deleting everything, %d after", before, after)
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Reclaim rewrites the tables only once the bytes deleted since the last
// rewrite, added up over sweeps, reach 1/rewriteAt of the live bytes.
func TestReclaimWaitsForEnoughDeletedBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newCollectStore(t)
	var all []objects.Object
	for i := range 4000 {
		all = append(all, blobObject(fmt.Sprintf("doc %d %0200d", i, i)))
	}
	if err := s.Put(ctx, all...); err != nil {
		t.Fatal(err)
	}
	pending := func() uint64 {
		var n uint64
		if err := s.db.View(func(txn *badger.Txn) (err error) { n, err = pendingBytes(txn); return err }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const live = 4000 * 210
	for round, upTo := range []int{200, 600} { // 5% of the bytes, then 15%
		c, err := s.BeginCollection(ctx, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		doomed := map[objects.ID]bool{}
		for _, o := range all[:upTo] {
			doomed[o.ID] = true
		}
		if _, err := c.Sweep(ctx, func(id objects.ID) bool { return !doomed[id] }, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Reclaim(ctx, true, live); err != nil {
			t.Fatal(err)
		}
		if got := pending(); round == 0 && got == 0 || round == 1 && got != 0 {
			t.Errorf("round %d: %d deleted bytes pending after Reclaim", round, got)
		}
	}
}

// ReadSorted hands each ID asked for its checked bytes, in order, as Get
// does, stepping and seeking alike (IDs near each other and far apart):
// a missing object is ErrNotFound, a damaged one ErrDamaged, and neither
// stops the others.
func TestReadSorted(t *testing.T) {
	t.Parallel()
	s := openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
	defer s.Close()
	ctx := t.Context()
	var stored []objects.Object
	for i := range 3 * readAheadKeys {
		stored = append(stored, docBlob(i))
	}
	if err := s.Put(ctx, stored...); err != nil {
		t.Fatal(err)
	}
	damaged := docBlob(-1)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(objectKey(damaged.ID), []byte("not it")) }); err != nil {
		t.Fatal(err)
	}
	missing := docBlob(-2).ID
	slices.SortFunc(stored, func(a, b objects.Object) int { return a.ID.Compare(b.ID) })
	// The first and last of each stretch of readAheadKeys+1, so reading
	// both steps and seeks, then the damaged and missing ones.
	want := map[objects.ID][]byte{}
	var ids []objects.ID
	for i, o := range stored {
		if i%(readAheadKeys+1) == 0 || i%(readAheadKeys+1) == 1 || i == len(stored)-1 {
			ids = append(ids, o.ID)
			want[o.ID] = o.Data
		}
	}
	ids = append(ids, damaged.ID, missing)
	slices.SortFunc(ids, objects.ID.Compare)
	c, err := s.BeginCollection(ctx, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []objects.ID
	err = c.ReadSorted(ctx, ids, func(id objects.ID, data []byte, err error) error {
		got = append(got, id)
		switch id {
		case damaged.ID:
			if !errors.Is(err, objects.ErrDamaged) {
				t.Errorf("damaged object: %v, want ErrDamaged", err)
			}
		case missing:
			if !errors.Is(err, objects.ErrNotFound) {
				t.Errorf("missing object: %v, want ErrNotFound", err)
			}
		default:
			if err != nil || !bytes.Equal(data, want[id]) {
				t.Errorf("%s: %q, %v; want its bytes", id.Short(), data, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("read %d IDs, want the %d asked for, in order", len(got), len(ids))
	}
}
