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
	// roots are the stored parents' maps, indexes and conflicts maps
	// apart: Admit vouches for a subtree only from a map of its role.
	roots [2][]objects.ID
}

func newParentMaps(r objects.ObjectReader) *parentMaps {
	return &parentMaps{nodes: newNodeReader(r)}
}

// add adds the maps of a stored parent commit.
func (p *parentMaps) add(index, conflicts objects.ID) {
	for i, root := range []objects.ID{index, conflicts} {
		if !root.IsZero() && len(p.roots[i]) < maxParentMaps && !slices.Contains(p.roots[i], root) {
			p.roots[i] = append(p.roots[i], root)
		}
	}
}

// of lists the maps of a role; role 0 lists all.
func (p *parentMaps) of(r role) []objects.ID {
	switch r {
	case roleIndex:
		return p.roots[0]
	case roleConflicts:
		return p.roots[1]
	}
	return slices.Concat(p.roots[0], p.roots[1])
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
	it := &d.item
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
	for _, root := range p.of(0) {
		old, ok := p.itemAt(ctx, root, it.level, it.key)
		if ok && old.item.Entry.ID == d.id && (old.item.Entry.Kind == objects.KindConflict) == (it.kind == objects.KindConflict) {
			if len(want) == 1 {
				return true, want[0]
			}
			return true, 0
		}
	}
	return false, 0
}

// fits is prolly.Fits from the stored maps of role r: one holds the same
// item at the same level, with the same key before it, and ending its
// level there only if it ends it here. That map was checked whole when
// it was stored, the child's fit in it too.
func (p *parentMaps) fits(ctx context.Context, r role, parent *objects.Node, i int, lo string, lastOfLevel bool) bool {
	it := parent.Items[i]
	for _, root := range p.of(r) {
		old, ok := p.itemAt(ctx, root, parent.Level, it.Key)
		if ok && old.item == it && old.lo == lo && (lastOfLevel || !old.last) {
			return true
		}
	}
	return false
}

// placed is an item of a map where it sits: the key before it at its
// level ("" for none) and whether it ends its level.
type placed struct {
	item objects.NodeItem
	lo   string
	last bool
}

// itemAt finds the item with key at a level of the map at root.
func (p *parentMaps) itemAt(ctx context.Context, root objects.ID, level uint8, key string) (placed, bool) {
	at := placed{last: true}
	id := root
	for {
		n, err := p.nodes.read(ctx, id)
		if err != nil || n.Level < level {
			return placed{}, false
		}
		i, found := slices.BinarySearchFunc(n.Items, key, func(it objects.NodeItem, k string) int { return strings.Compare(it.Key, k) })
		if i == len(n.Items) || n.Level == level && !found {
			return placed{}, false
		}
		if i > 0 {
			at.lo = n.Items[i-1].Key
		}
		at.last = at.last && i == len(n.Items)-1
		if n.Level == level {
			at.item = n.Items[i]
			return at, true
		}
		id = n.Items[i].Entry.ID
	}
}
