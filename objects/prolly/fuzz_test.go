package prolly

// The fuzz inputs are long and each run builds or reads a few dozen nodes,
// so Go's default minimisation of each new input (up to a minute) dominates
// short runs; use for example
//
//	go test ./objects/prolly -run XXX -fuzz FuzzEdits -fuzztime 30s -fuzzminimizetime 2s

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/folio-db/folio/objects"
)

// fuzzKey maps two bytes to a key: 16 groups, keys of varied lengths that
// share prefixes.
func fuzzKey(a, b byte) string {
	return fmt.Sprintf("f/%x/%s%03d", a%16, strings.Repeat("k", int(a>>4)*4), b)
}

// FuzzEdits applies edit batches decoded from the input (3 bytes an op: set,
// delete, set a run, delete a run, end the batch) and checks after each
// batch that the map agrees with a Go map: entries, count, Diff from the
// previous root, the shape rules, and the root Build gives.
func FuzzEdits(f *testing.F) {
	f.Add([]byte{0, 1, 2, 4, 0, 0, 1, 1, 2})
	f.Add([]byte{2, 0, 255, 2, 1, 255, 2, 2, 255, 4, 0, 0, 3, 1, 255, 0, 7, 7, 4, 0, 0, 3, 0, 255, 3, 2, 255})
	f.Add([]byte{2, 0x35, 200, 2, 0xf3, 255, 4, 0, 0, 1, 0x35, 100, 0, 0xf3, 3, 4, 0, 0, 3, 0x35, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		tr, st := newTree()
		m := model{}
		var root objects.ID
		batch := map[string]Edit{}
		apply := func() {
			edits := sortedBatch(batch)
			clear(batch)
			before := m.clone()
			next, err := tr.Edit(ctx, root, edits)
			if err != nil {
				t.Fatal(err)
			}
			m.apply(edits)
			if got, want := diff(t, tr, root, next, "", -1), naiveDiff(before, m, ""); !slices.Equal(got, want) {
				t.Fatalf("Diff = %d changes, want %d", len(got), len(want))
			}
			root = next
			if want := build(t, tr, m); root != want {
				t.Fatalf("edited root %s, Build %s", root.Short(), want.Short())
			}
			checkMap(t, rand.New(rand.NewPCG(uint64(len(m)), 1)), tr, st, root, m)
		}
		for ; len(data) >= 3; data = data[3:] {
			op, a, b := data[0], data[1], data[2]
			switch op % 5 {
			case 0:
				batch[fuzzKey(a, b)] = Edit{Key: fuzzKey(a, b), Entry: entry(int(a)<<8|int(b), int(op))}
			case 1:
				batch[fuzzKey(a, b)] = Edit{Key: fuzzKey(a, b), Delete: true}
			case 2:
				for i := range int(b) {
					k := fuzzKey(a+byte(i/256), byte(i))
					batch[k] = Edit{Key: k, Entry: entry(i, int(op))}
				}
			case 3:
				for i := range int(b) {
					k := fuzzKey(a+byte(i/256), byte(i))
					batch[k] = Edit{Key: k, Delete: true}
				}
			case 4:
				apply()
			}
		}
		apply()
	})
}

// corruptKey is the i-th key of the map FuzzCorruptNode damages; long keys
// make a three-level map of few nodes, so each run is quick.
func corruptKey(i int) string { return fmt.Sprintf("docs/%s/%06d", strings.Repeat("p", 80), i) }

// corruptBase is the map FuzzCorruptNode damages and its node IDs, root
// first.
var corruptBase = sync.OnceValues(func() (*overlayStore, []objects.ID) {
	tr, st := newTree()
	b := tr.NewBuilder()
	for i := range 2000 {
		if err := b.Add(context.Background(), corruptKey(i), entry(i, 0)); err != nil {
			panic(err)
		}
	}
	root, err := b.Finish(context.Background())
	if err != nil {
		panic(err)
	}
	var ids []objects.ID
	depth := 0
	err = tr.Walk(context.Background(), root, func(id objects.ID, n *objects.Node) (bool, error) {
		ids = append(ids, id)
		depth = max(depth, int(n.Level)+1)
		return true, nil
	})
	if err != nil || depth != 3 || len(ids) > 100 {
		panic(fmt.Sprintf("want a map of 3 levels and at most 100 nodes, have %d levels, %d nodes (%v)", depth, len(ids), err))
	}
	return &overlayStore{NodeStore: st}, ids
})

// overlayStore returns data for one ID and reads the rest from its store.
type overlayStore struct {
	NodeStore
	id   objects.ID
	data []byte
}

func (o *overlayStore) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	if id == o.id {
		return slices.Clone(o.data), nil
	}
	return o.NodeStore.Get(ctx, id)
}

// FuzzCorruptNode replaces the bytes of one node of a map and runs every
// read and an edit over it: none may panic, and every error must say the
// data is corrupt or of an unknown format, or that a node it names is not
// stored (a damaged child ID).
func FuzzCorruptNode(f *testing.F) {
	base, ids := corruptBase()
	ctx := context.Background()
	for i, id := range []objects.ID{ids[0], ids[1], ids[len(ids)-1]} {
		data, err := base.NodeStore.Get(ctx, id)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint16(i), data)
		flipped := slices.Clone(data)
		flipped[len(flipped)/2] ^= 1
		f.Add(uint16(i), flipped)
	}
	other, _ := base.NodeStore.Get(ctx, ids[len(ids)-2])
	f.Add(uint16(len(ids)-1), other)
	f.Add(uint16(0), []byte{})
	f.Fuzz(func(t *testing.T, which uint16, data []byte) {
		o := &overlayStore{NodeStore: base.NodeStore, id: ids[int(which)%len(ids)], data: data}
		tr := New(o)
		root := ids[0]
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, objects.ErrCorrupt) && !errors.Is(err, objects.ErrUnknownFormat) && !errors.Is(err, objects.ErrNotFound) {
				t.Fatalf("%s: %v", what, err)
			}
		}
		check("Walk", tr.Walk(ctx, root, func(objects.ID, *objects.Node) (bool, error) { return true, nil }))
		_, _, err := tr.Get(ctx, root, corruptKey(int(which)))
		check("Get", err)
		check("Iterate", tr.Iterate(ctx, root, "", "", func(string, objects.Entry) error { return nil }))
		_, err = tr.Count(ctx, root)
		check("Count", err)
		check("Diff", tr.Diff(ctx, ids[1], root, "", func(Change) error { return nil }))
		_, err = tr.Edit(ctx, root, []Edit{{Key: corruptKey(int(which)), Delete: true}, {Key: corruptKey(int(which) + 1), Entry: entry(1, 1)}})
		check("Edit", err)
	})
}
