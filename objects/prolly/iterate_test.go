package prolly

import (
	"testing"

	"github.com/folio-db/folio/objects"
)

// TestIterateKeepsNoLeaves: a walk over every key leaves no leaf in the
// node cache (it reads each once), while the nodes above them stay cached;
// a Get still caches its path, leaf included.
func TestIterateKeepsNoLeaves(t *testing.T) {
	t.Parallel()
	tr, _ := newTree()
	m := model{}
	for i := range 5000 {
		m[seqKey(i)] = entry(i, 0)
	}
	root := build(t, tr, m)
	tr = New(tr.store) // a cold cache
	if got := iterate(t, tr, root, "", ""); len(got) != len(m) {
		t.Fatalf("Iterate returned %d keys, want %d", len(got), len(m))
	}
	if leaves, internal := cachedLevels(tr); leaves != 0 || internal == 0 {
		t.Errorf("after Iterate the cache holds %d leaves and %d internal nodes, want none and some", leaves, internal)
	}
	if _, ok, err := tr.Get(t.Context(), root, seqKey(1234)); err != nil || !ok {
		t.Fatalf("Get = %v, %v", ok, err)
	}
	if leaves, _ := cachedLevels(tr); leaves != 1 {
		t.Errorf("after Get the cache holds %d leaves, want 1", leaves)
	}
}

// cachedLevels counts the leaves and the internal nodes in tr's cache.
func cachedLevels(tr *Tree) (leaves, internal int) {
	for _, gen := range []map[objects.ID]cached{tr.cache.young, tr.cache.old} {
		for _, c := range gen {
			if c.node.Level == 0 {
				leaves++
			} else {
				internal++
			}
		}
	}
	return leaves, internal
}
