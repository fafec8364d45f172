package prolly

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/folio-db/folio/objects"
)

// level1 lists the level-1 nodes of a map, in key order, with the first
// key under each.
type span1 struct {
	id    objects.ID
	node  *objects.Node
	first string
}

func level1(t *testing.T, tr *Tree, root objects.ID) []span1 {
	t.Helper()
	ctx := context.Background()
	var out []span1
	err := tr.Walk(ctx, root, func(id objects.ID, n *objects.Node) (bool, error) {
		if n.Level != 1 {
			return n.Level > 1, nil
		}
		leaf, err := tr.node(ctx, n.Items[0].Entry.ID)
		if err != nil {
			return false, err
		}
		out = append(out, span1{id, n, leaf.Items[0].Key})
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A subtree that Walk skips (fn saw it before) is still checked where it
// now sits: a subtree whose first leaf starts below the key before it
// makes a map with keys out of order, though its root fits.
func TestWalkChecksTheEdgesOfSkippedSubtrees(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr, store := newTree()
	even := model{}
	for i := range 10000 {
		even[seqKey(2*i)] = entry(2*i, 0)
	}
	a := level1(t, tr, build(t, tr, even))
	s := a[len(a)-1]
	// A second map whose keys all fall between the first two keys of s's
	// first leaf: each of its level-1 nodes ends inside that leaf's range.
	var n int
	if _, err := fmt.Sscanf(s.first, "docs/%03d/%08d.json", new(int), &n); err != nil {
		t.Fatal(err)
	}
	inside := model{}
	for j := range 10000 {
		inside[fmt.Sprintf("%s/%06d", seqKey(n+1), j)] = entry(j, 1)
	}
	b := level1(t, tr, build(t, tr, inside))
	if len(b) < 2 {
		t.Fatalf("the second map has %d level-1 nodes, want 2 or more", len(b))
	}
	x := b[0]
	xLast := x.node.Items[len(x.node.Items)-1].Key
	if !(s.first < xLast && xLast < s.node.Items[0].Key) {
		t.Fatalf("%q does not fall inside (%q, %q)", xLast, s.first, s.node.Items[0].Key)
	}
	root := (&objects.Node{Level: 2, Items: []objects.NodeItem{
		{Key: xLast, Entry: objects.Entry{ID: x.id, Size: count(x.node)}},
		{Key: s.node.Items[len(s.node.Items)-1].Key, Entry: objects.Entry{ID: s.id, Size: count(s.node)}},
	}}).Encode()
	if err := store.Put(ctx, root); err != nil {
		t.Fatal(err)
	}
	err := tr.Walk(ctx, root.ID, func(id objects.ID, n *objects.Node) (bool, error) {
		return id == root.ID, nil // the two subtrees were seen before
	})
	if !errors.Is(err, objects.ErrCorrupt) {
		t.Fatalf("a subtree whose keys start below its left neighbour's: %v, want corrupt", err)
	}
}

// Skipping subtrees seen in the previous version of a map, as fsck and
// transfers do, finds nothing wrong in a good map.
func TestWalkSkippingSeenSubtreesOfAGoodMap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr, _ := newTree()
	m := model{}
	for i := range 20000 {
		m[seqKey(i)] = entry(i, 0)
	}
	seen := map[objects.ID]bool{}
	root := build(t, tr, m)
	for round := range 4 {
		err := tr.Walk(ctx, root, func(id objects.ID, n *objects.Node) (bool, error) {
			if seen[id] {
				return false, nil
			}
			seen[id] = true
			return true, nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		edits := []Edit{{Key: seqKey(round * 4999), Entry: entry(round, 1)}, {Key: seqKey(19999), Delete: true}}
		var err2 error
		if root, err2 = tr.Edit(ctx, root, edits); err2 != nil {
			t.Fatal(err2)
		}
	}
}
