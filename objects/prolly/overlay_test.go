package prolly

import (
	"context"
	"testing"

	"github.com/folio-db/folio/objects"
)

// An Overlay of an Overlay (a chain of commits built on another whose
// nodes are not stored yet) reads the nodes the Overlay under it holds
// decoded, and those of the Tree under both, without reading its store
// or decoding them again; its Publish hands its nodes to that Tree.
func TestOverlayOfOverlayReadsEveryCacheUnderIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, st := newTree()
	m := model{}
	for i := range 5000 {
		m[seqKey(i)] = entry(i, 0)
	}
	bottomStore := &countingStore{NodeStore: st}
	bottom := New(bottomStore)
	root := build(t, New(st), m)
	k1, k2 := seqKey(100), seqKey(101)
	if _, _, err := bottom.Get(ctx, root, k1); err != nil { // bottom caches k1's path
		t.Fatal(err)
	}

	first := bottom.Overlay(st)
	firstRoot := mustEdit(t, first, root, []Edit{{Key: k1, Entry: entry(100, 1)}})
	nextStore := &countingStore{NodeStore: st}
	next := first.Overlay(nextStore)
	for _, r := range []struct {
		what string
		root objects.ID
	}{{"the first overlay's new path", firstRoot}, {"the bottom tree's path", root}} {
		nextStore.reset()
		if _, _, err := next.Get(ctx, r.root, k1); err != nil {
			t.Fatal(err)
		}
		if nextStore.gets != 0 {
			t.Errorf("reading %s, the overlay over the first read %d nodes from its store; want 0", r.what, nextStore.gets)
		}
	}

	nextRoot := mustEdit(t, next, firstRoot, []Edit{{Key: k2, Entry: entry(101, 1)}})
	next.Publish()
	bottomStore.reset()
	if _, _, err := bottom.Get(ctx, nextRoot, k2); err != nil {
		t.Fatal(err)
	}
	if bottomStore.gets != 0 {
		t.Errorf("after Publish the bottom tree read %d of the published nodes from its store; want 0", bottomStore.gets)
	}
}
