package transfer

import (
	"context"
	"slices"
	"strings"

	"github.com/folio-db/folio/objects"
)

// maxParentMaps bounds the stored maps a receiver proves references with.
const maxParentMaps = 8

// parentMaps proves references of a pack's nodes to stored objects from
// the maps of the pack's stored parent commits. A stored map was checked
// when it was stored (and its closure is stored), so an item that one
// holds, at the same level, names a stored object of the type its level
// and kind require: a node above the leaves, a conflict record for a
// conflict entry, a document otherwise. A new node of a commit that
// changes little holds mostly the items of the old node it replaces,
// and those are found in the few old nodes on the path to its keys,
// instead of a read of each object they name.
type parentMaps struct {
	nodes *nodeReader
	roots []objects.ID
}

func newParentMaps(r objects.ObjectReader) *parentMaps {
	return &parentMaps{nodes: newNodeReader(r)}
}

// add adds the maps of a stored parent commit.
func (p *parentMaps) add(maps ...objects.ID) {
	for _, root := range maps {
		if !root.IsZero() && len(p.roots) < maxParentMaps && !slices.Contains(p.roots, root) {
			p.roots = append(p.roots, root)
		}
	}
}

// itemAt is where a reference sits in a node: its level, key and kind.
type itemAt struct {
	level uint8
	key   string
	kind  objects.Kind
}

// prove reports whether a stored map holds d's object where d's item
// sits, with a type d allows; and that type, when the item tells it (a
// document's item does not tell a blob from a chunked one: 0). A stored
// node that cannot be read proves nothing: the reference is then read
// from the store like any other.
func (p *parentMaps) prove(ctx context.Context, d deferredRef) (bool, objects.Type) {
	it := d.item
	want := []objects.Type{objects.TypeBlob, objects.TypeChunked}
	switch {
	case it.level > 0:
		want = []objects.Type{objects.TypeNode}
	case it.kind == objects.KindConflict:
		want = []objects.Type{objects.TypeConflict}
	}
	for _, t := range want {
		if !slices.Contains(d.allowed, t) {
			return false, 0
		}
	}
	for _, root := range p.roots {
		e, ok := p.entryAt(ctx, root, it.level, it.key)
		if ok && e.ID == d.id && (e.Kind == objects.KindConflict) == (it.kind == objects.KindConflict) {
			if len(want) == 1 {
				return true, want[0]
			}
			return true, 0
		}
	}
	return false, 0
}

// entryAt finds the item with key at a level of the map at root.
func (p *parentMaps) entryAt(ctx context.Context, root objects.ID, level uint8, key string) (objects.Entry, bool) {
	id := root
	for {
		n, err := p.nodes.read(ctx, id)
		if err != nil || n.Level < level {
			return objects.Entry{}, false
		}
		i, found := slices.BinarySearchFunc(n.Items, key, func(it objects.NodeItem, k string) int { return strings.Compare(it.Key, k) })
		if n.Level == level {
			return n.Items[min(i, len(n.Items)-1)].Entry, found
		}
		if i == len(n.Items) {
			return objects.Entry{}, false
		}
		id = n.Items[i].Entry.ID
	}
}
