package transfer

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/folio-db/folio/objects"
)

// storeConflicts stores a conflicts map of n records (keys c/0000...), as
// a merge here would make it, and a commit of base's index with it.
func storeConflicts(t *testing.T, s objects.Store, base *storedMap, n int) objects.ID {
	t.Helper()
	ctx := context.Background()
	doc := objects.EncodeBlob([]byte(`{"side": 1}`))
	heads := [2]objects.ID{objects.Hash([]byte("ours")), objects.Hash([]byte("theirs"))}
	objs := []objects.Object{doc}
	var items []objects.NodeItem
	for i := range n {
		key := fmt.Sprintf("c/%04d", i)
		rec := (&objects.Conflict{Key: key, Ours: objects.Entry{ID: doc.ID, Kind: objects.KindJSON, Size: uint64(len(doc.Data))},
			OursCommit: heads[0], TheirsCommit: heads[1], Winner: objects.SideOurs}).Encode()
		objs = append(objs, rec)
		items = append(items, objects.NodeItem{Key: key, Entry: objects.Entry{ID: rec.ID, Kind: objects.KindConflict, Size: uint64(len(rec.Data))}})
	}
	if err := s.Put(ctx, objs...); err != nil {
		t.Fatal(err)
	}
	cmap, err := buildMap(s, items)
	if err != nil {
		t.Fatal(err)
	}
	c := (&objects.Commit{Index: base.root, Conflicts: cmap, Parents: []objects.ID{base.commit}, Height: base.height + 1, Time: tick()}).Encode()
	if err := s.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// A peer's pack that reuses what its stored parents' maps hold, in the
// wrong place or the wrong role, is refused, though those maps prove the
// objects stored and of some type: an entry naming a stored node, stored
// nodes a level off, a conflicts map's subtrees in an index, an index
// leaf's documents or records as the other kind of entry; and a map that
// arrived in the pack proves nothing, even for a commit whose parent it
// is (it is checked as any arrived map).
func TestReceiveAndAdmitRefuseMisplacedStoredObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst := newRepo(t, true)
	m := readStoredMap(t, dst.Store(), storeBase(t, dst.Store(), 12000))
	pid := storeConflicts(t, dst.Store(), m, 3000)
	pc, err := readCommit(ctx, dst.Store(), pid)
	if err != nil {
		t.Fatal(err)
	}
	p := readMapAt(t, dst.Store(), pid, pc.Height, pc.Conflicts) // the conflicts map
	data, err := dst.Store().Get(ctx, pc.Conflicts)
	if err != nil {
		t.Fatal(err)
	}
	croot, err := objects.DecodeNode(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.levels) < 3 || croot.Level == 0 || len(croot.Items) < 3 {
		t.Fatalf("want an index of 3 levels or more and a conflicts map above the leaves with 3 children: %d levels, conflicts root at level %d with %d",
			len(m.levels), croot.Level, len(croot.Items))
	}
	firstLeaf := m.leaves[m.levels[1][0].Entry.ID]
	node := func(level uint8, items ...objects.NodeItem) objects.Object {
		return (&objects.Node{Level: level, Items: items}).Encode()
	}
	commitOf := func(index, conflicts objects.ID, parent objects.ID, height uint64) objects.Object {
		return (&objects.Commit{Index: index, Conflicts: conflicts, Parents: []objects.ID{parent}, Height: height + 1, Time: tick()}).Encode()
	}
	// A pack of new nodes and a commit of them on the stored parent.
	onParent := func(index, conflicts objects.Object) []objects.Object {
		var objs []objects.Object
		var ids [2]objects.ID
		for i, o := range []objects.Object{index, conflicts} {
			if o.ID.IsZero() {
				continue
			}
			objs, ids[i] = append(objs, o), o.ID
		}
		return append(objs, commitOf(ids[0], ids[1], pid, p.height))
	}
	var none objects.Object
	cases := map[string]struct {
		pack []objects.Object
		want error
	}{
		"a document entry naming the stored leaf its parent's map holds one level up": {onParent(node(0,
			objects.NodeItem{Key: m.levels[1][0].Key, Entry: objects.Entry{ID: m.levels[1][0].Entry.ID, Kind: objects.KindJSON, Size: 1}}), none),
			ErrBadReference},
		"stored leaves one level too high": {onParent(node(2, m.levels[1][0], m.levels[1][1]), none), objects.ErrCorrupt},
		"a stored node of level 1 among leaves": {onParent(node(1, m.levels[1][0],
			objects.NodeItem{Key: m.levels[2][1].Key, Entry: m.levels[2][1].Entry}), none), objects.ErrCorrupt},
		"an index of the stored conflicts map's subtrees, where they sit there": {onParent(
			node(croot.Level, croot.Items[:len(croot.Items)-1]...), none), ErrBadMap},
		"a conflicts map of an index leaf's documents": {onParent(node(0, m.levels[0][0]),
			node(0, firstLeaf.Items[:len(firstLeaf.Items)-1]...)), ErrBadMap},
		"a stored record as a document, where the conflicts map holds it": {onParent(node(0,
			objects.NodeItem{Key: p.levels[0][0].Key, Entry: objects.Entry{ID: p.levels[0][0].Entry.ID, Kind: objects.KindJSON, Size: 1}}), none),
			ErrBadReference},
		"a stored document as a record, where the index holds it": {onParent(none, node(0,
			objects.NodeItem{Key: m.levels[0][0].Key, Entry: objects.Entry{ID: m.levels[0][0].Entry.ID, Kind: objects.KindConflict, Size: 1}})),
			ErrBadReference},
	}
	// A map that arrived, cut where the chunker does not cut (the first
	// stored leaf in two), as the index of a parent that arrived and of
	// its child: it is checked, not taken as the parent's stored map.
	half := len(firstLeaf.Items) / 2
	a, b := node(0, firstLeaf.Items[:half]...), node(0, firstLeaf.Items[half:]...)
	cut := node(1, objects.NodeItem{Key: firstLeaf.Items[half-1].Key, Entry: objects.Entry{ID: a.ID, Size: uint64(half)}},
		objects.NodeItem{Key: firstLeaf.Items[len(firstLeaf.Items)-1].Key, Entry: objects.Entry{ID: b.ID, Size: uint64(len(firstLeaf.Items) - half)}})
	arrivedParent := commitOf(cut.ID, objects.ID{}, m.commit, m.height)
	cases["a map that arrived, as its child's parent's map"] = struct {
		pack []objects.Object
		want error
	}{[]objects.Object{a, b, cut, arrivedParent, commitOf(cut.ID, objects.ID{}, arrivedParent.ID, m.height+1)}, objects.ErrCorrupt}

	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			target := c.pack[len(c.pack)-1].ID
			if err := admitOnly(t, dst.Store(), target, c.pack...); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if ok, err := dst.Store().Has(ctx, target); ok || err != nil {
				t.Errorf("the refused commit is stored (%v)", err)
			}
		})
	}
}
