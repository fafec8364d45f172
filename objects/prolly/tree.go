package prolly

import (
	"context"
	"errors"
	"fmt"

	"github.com/folio-db/folio/objects"
)

// Sentinel errors.
var (
	// ErrStop, returned by an Iterate or Diff callback, ends the walk early
	// without an error.
	ErrStop = errors.New("prolly: stop")
	// ErrBadEdit: edits out of order, a key edited twice, an invalid key or
	// an entry a leaf cannot hold.
	ErrBadEdit = errors.New("prolly: bad edit")
)

// NodeStore is what a map needs from a store.
type NodeStore interface {
	objects.ObjectReader
	objects.ObjectWriter
}

// Tree reads and writes prolly maps in one store. It keeps a bounded cache
// of decoded nodes (nodes are immutable, so the cache needs no
// invalidation). A Tree is safe for concurrent use.
type Tree struct {
	store NodeStore
	cache *nodeCache
	base  *nodeCache // of the Tree an Overlay overlays: read, never written
	// prev is the cache of the Overlay this one was made over, when it
	// was (an Overlay of an Overlay): read, never written.
	prev *nodeCache
}

// DefaultCacheBytes bounds the encoded size of the nodes a Tree keeps
// decoded.
const DefaultCacheBytes = 32 << 20

// New returns a Tree over s.
func New(s NodeStore) *Tree {
	return &Tree{store: s, cache: newNodeCache(DefaultCacheBytes)}
}

// Overlay returns a Tree over s, a store that may hold nodes t's store
// never gets (a quarantine whose promotion can fail). It reads the nodes
// t has cached, and keeps the nodes it reads and writes in a cache of its
// own, so t's cache never holds a node t's store lacks, until Publish.
//
// An Overlay of an Overlay (work built on other work not stored yet)
// reads the nodes of both and of the Tree under them, and publishes to
// that Tree. It holds the other Overlay's cache, not the other Overlay:
// a line of them keeps no more than two caches alive.
func (t *Tree) Overlay(s NodeStore) *Tree {
	o := &Tree{store: s, cache: newNodeCache(DefaultCacheBytes), base: t.cache}
	if t.base != nil {
		o.base, o.prev = t.base, t.cache
	}
	return o
}

// Publish hands the nodes an Overlay cached to the Tree it overlays. Call
// it only once they are all in that Tree's store.
func (t *Tree) Publish() {
	if t.base == nil {
		return
	}
	t.cache.mu.Lock()
	defer t.cache.mu.Unlock()
	for _, gen := range []map[objects.ID]cached{t.cache.old, t.cache.young} {
		for id, e := range gen {
			t.base.put(id, e.node, e.size)
		}
	}
}

// Cached returns the node with that ID if t holds it decoded (from its
// store, or from the store of the Tree it overlays), else nil. The node
// is shared: only read it.
func (t *Tree) Cached(id objects.ID) *objects.Node {
	for _, c := range []*nodeCache{t.cache, t.prev, t.base} {
		if c == nil {
			continue
		}
		if n := c.get(id); n != nil {
			return n
		}
	}
	return nil
}

// Keep puts n in t's cache as the node with that ID, for a caller that
// decoded it already from bytes of that hash (size long) and whose store
// holds them: a receive decodes every node that arrives. n is shared from
// then on: only read it.
func (t *Tree) Keep(id objects.ID, n *objects.Node, size int) {
	t.cache.put(id, n, size)
}

// node loads and decodes one node; objects.DecodeNode checks its structure
// (sorted valid keys, known kinds, canonical encoding).
func (t *Tree) node(ctx context.Context, id objects.ID) (*objects.Node, error) {
	return t.load(ctx, id, true)
}

// load is node; keep says whether a node read from the store goes into the
// cache. A walk that reads each leaf once (Iterate) keeps none: a listing
// of 100,000 keys would otherwise hold all of its leaves, and the garbage
// collector lets the heap grow to a multiple of what is held.
func (t *Tree) load(ctx context.Context, id objects.ID, keep bool) (*objects.Node, error) {
	if n := t.Cached(id); n != nil {
		return n, nil
	}
	data, err := t.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("prolly: node %s: %w", id.Short(), err)
	}
	n, err := objects.DecodeNode(data)
	if err != nil {
		return nil, fmt.Errorf("prolly: node %s: %w", id.Short(), err)
	}
	if keep {
		t.cache.put(id, n, len(data))
	}
	return n, nil
}

// root loads the root node of a non-empty map. A canonical root is never an
// internal node with a single child.
func (t *Tree) root(ctx context.Context, id objects.ID) (*objects.Node, error) {
	n, err := t.node(ctx, id)
	if err != nil {
		return nil, err
	}
	if n.Level > 0 && len(n.Items) == 1 {
		return nil, corrupt(id, "root at level %d has a single child", n.Level)
	}
	return n, nil
}

// child loads the child under parent.Items[i] and checks that it fits there:
// one level down, the same last key, a first key above lo (the key before
// it in the map, "" for none), and as many leaf entries as the parent says.
// With keep false, a child read from the store stays out of the cache.
func (t *Tree) child(ctx context.Context, parent *objects.Node, i int, lo string, keep bool) (*objects.Node, error) {
	it := parent.Items[i]
	n, err := t.load(ctx, it.Entry.ID, keep)
	if err != nil {
		return nil, err
	}
	switch {
	case n.Level+1 != parent.Level:
		return nil, corrupt(it.Entry.ID, "level %d under a node of level %d", n.Level, parent.Level)
	case n.Items[len(n.Items)-1].Key != it.Key:
		return nil, corrupt(it.Entry.ID, "last key %q, its parent says %q", n.Items[len(n.Items)-1].Key, it.Key)
	case n.Items[0].Key <= lo:
		return nil, corrupt(it.Entry.ID, "first key %q is not above %q", n.Items[0].Key, lo)
	case count(n) != it.Entry.Size:
		return nil, corrupt(it.Entry.ID, "holds %d entries, its parent says %d", count(n), it.Entry.Size)
	}
	return n, nil
}

func corrupt(id objects.ID, format string, args ...any) error {
	return fmt.Errorf("prolly: node %s: %w: %s", id.Short(), objects.ErrCorrupt, fmt.Sprintf(format, args...))
}

// count returns the number of leaf entries under a node.
func count(n *objects.Node) uint64 {
	if n.Level == 0 {
		return uint64(len(n.Items))
	}
	var sum uint64
	for _, it := range n.Items {
		sum += it.Entry.Size
	}
	return sum
}

// lowerBound returns the key before n.Items[i] in the map, given lo, the key
// before the whole node.
func lowerBound(n *objects.Node, i int, lo string) string {
	if i > 0 {
		return n.Items[i-1].Key
	}
	return lo
}
