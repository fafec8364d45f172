package prolly_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/objects/prolly"
)

func badgerEntry(n, version int) objects.Entry {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], uint64(n))
	binary.LittleEndian.PutUint64(b[8:], uint64(version))
	return objects.Entry{ID: objects.Hash(b[:]), Kind: objects.KindText, Size: uint64(n)}
}

func badgerKey(n int) string { return fmt.Sprintf("data/%02d/%07d.txt", n%50, n) }

// TestOnBadger builds a map of 100,000 entries in a real Badger store, edits
// it, diffs the versions and reopens the store: the roots are the ones the
// in-memory store gives for the same edits, and everything reads back.
func TestOnBadger(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := badgerstore.Open(dir, badgerstore.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	tr, mem := prolly.New(st), prolly.New(memstore.New())

	const n = 100000
	edits := make([]prolly.Edit, 0, n)
	for i := range n {
		edits = append(edits, prolly.Edit{Key: badgerKey(i), Entry: badgerEntry(i, 0)})
	}
	slices.SortFunc(edits, func(a, b prolly.Edit) int { return strings.Compare(a.Key, b.Key) })
	apply := func(root, memRoot objects.ID, edits []prolly.Edit) (objects.ID, objects.ID) {
		t.Helper()
		got, err := tr.Edit(ctx, root, edits)
		if err != nil {
			t.Fatal(err)
		}
		want, err := mem.Edit(ctx, memRoot, edits)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Badger root %s, memstore root %s", got.Short(), want.Short())
		}
		return got, want
	}
	base, memBase := apply(objects.ID{}, objects.ID{}, edits)

	// 3,000 changes in one batch: a third each inserted, updated, deleted.
	r := rand.New(rand.NewPCG(11, 12))
	batch := map[string]prolly.Edit{}
	for i := 0; len(batch) < 3000; i++ {
		k := r.IntN(n)
		switch i % 3 {
		case 0:
			batch[badgerKey(n+k)] = prolly.Edit{Key: badgerKey(n + k), Entry: badgerEntry(k, 1)}
		case 1:
			batch[badgerKey(k)] = prolly.Edit{Key: badgerKey(k), Entry: badgerEntry(k, 1)}
		default:
			batch[badgerKey(k)] = prolly.Edit{Key: badgerKey(k), Delete: true}
		}
	}
	changes := make([]prolly.Edit, 0, len(batch))
	for _, e := range batch {
		changes = append(changes, e)
	}
	slices.SortFunc(changes, func(a, b prolly.Edit) int { return strings.Compare(a.Key, b.Key) })
	edited, _ := apply(base, memBase, changes)

	var got []prolly.Edit
	err = tr.Diff(ctx, base, edited, "", func(c prolly.Change) error {
		got = append(got, prolly.Edit{Key: c.Key, Entry: c.To, Delete: c.To.ID.IsZero()})
		return nil
	})
	if err != nil || !slices.Equal(got, changes) {
		t.Fatalf("Diff gives %d changes (%v), want %d", len(got), err, len(changes))
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tr = prolly.New(st)
	nodes := 0
	err = tr.Walk(ctx, edited, func(id objects.ID, _ *objects.Node) (bool, error) {
		nodes++
		return true, nil
	})
	if err != nil {
		t.Fatalf("Walk after reopening: %v", err)
	}
	want := uint64(n)
	for _, e := range changes {
		switch _, _, isNew := parseKey(e.Key); {
		case isNew:
			want++
		case e.Delete:
			want--
		}
	}
	count, err := tr.Count(ctx, edited)
	if err != nil || count != want {
		t.Errorf("Count = %d, %v; want %d", count, err, want)
	}
	for _, e := range changes[:100] {
		entry, ok, err := tr.Get(ctx, edited, e.Key)
		if err != nil || ok == e.Delete || ok && entry != e.Entry {
			t.Errorf("Get(%q) = %v, %v, %v after %+v", e.Key, entry, ok, err, e)
		}
	}
	t.Logf("%d entries in %d nodes", count, nodes)
}

// parseKey reads back badgerKey; isNew is true for the keys past the
// initial n.
func parseKey(k string) (group, i int, isNew bool) {
	if _, err := fmt.Sscanf(k, "data/%02d/%07d.txt", &group, &i); err != nil {
		panic(err)
	}
	return group, i, i >= 100000
}
