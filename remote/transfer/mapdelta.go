package transfer

import (
	"context"
	"slices"
	"strings"

	"github.com/folio-db/folio/objects"
)

// span is a node and the key range it covers: keys above lo (all keys
// when lo is "", since keys are never empty) up to and including hi.
type span struct {
	id     objects.ID
	lo, hi string
}

func overlaps(a, b span) bool {
	return (a.lo == "" || a.lo < b.hi) && (b.lo == "" || b.lo < a.hi)
}

// mapDelta is the part of a map the receiver lacks, given a map it has:
// the new nodes of each level (leaves first) and, from the old map, the
// items of the leaves around the changes, in key order. They are kept as
// a slice, not indexed: a map of them per commit cost more than the rest
// of a send.
type mapDelta struct {
	newNodes [][]objects.ID // by level, 0 = leaves
	old      []objects.NodeItem
}

// oldEntry is the old map's entry at key, among the leaves around the
// changes (zero if none).
func (d *mapDelta) oldEntry(key string) objects.Entry {
	i, ok := slices.BinarySearchFunc(d.old, key, func(it objects.NodeItem, k string) int { return strings.Compare(it.Key, k) })
	if !ok {
		return objects.Entry{}
	}
	return d.old[i].Entry
}

// newItems lists the items of the new leaves whose entries the old
// leaves around the changes lack under any key, in key order.
func (d *mapDelta) newItems(ctx context.Context, nodes *nodeReader) ([]objects.NodeItem, error) {
	if len(d.newNodes) == 0 {
		return nil, nil
	}
	var changed []objects.NodeItem
	// New leaves and old items are both in key order: one sweep finds
	// each key's old entry.
	old := d.old
	for _, leafID := range d.newNodes[0] {
		leaf, err := nodes.read(ctx, leafID)
		if err != nil {
			return nil, err
		}
		for _, it := range leaf.Items {
			for len(old) > 0 && old[0].Key < it.Key {
				old = old[1:]
			}
			if len(old) == 0 || old[0].Key != it.Key || old[0].Entry.ID != it.Entry.ID {
				changed = append(changed, it)
			}
		}
	}
	if len(changed) == 0 {
		return nil, nil
	}
	// An entry may also be old under another key (a copied document):
	// one pass over the old items, against the few changed ones.
	had := make(map[objects.ID]bool, len(changed))
	for _, it := range changed {
		had[it.Entry.ID] = false
	}
	for _, it := range d.old {
		if _, ok := had[it.Entry.ID]; ok {
			had[it.Entry.ID] = true
		}
	}
	return slices.DeleteFunc(changed, func(it objects.NodeItem) bool { return had[it.Entry.ID] }), nil
}

// diffMaps walks the two trees a level at a time from the top. At each
// level it keeps the nodes of `to` whose IDs the same level of `from`
// lacks, and goes down only into those, and into the nodes of `from`
// whose ranges overlap them. Equal subtrees have equal IDs at the same
// level, so everything skipped is a subtree the receiver has.
func diffMaps(ctx context.Context, nodes *nodeReader, from, to objects.ID) (*mapDelta, error) {
	d := &mapDelta{}
	if to.IsZero() || to == from {
		return d, nil
	}
	toRoot, err := nodes.read(ctx, to)
	if err != nil {
		return nil, err
	}
	level := int(toRoot.Level)
	d.newNodes = make([][]objects.ID, level+1)
	toFront := []span{{id: to, hi: lastKey(toRoot)}}
	var fromFront []span
	fromLevel := -1
	if !from.IsZero() {
		fromRoot, err := nodes.read(ctx, from)
		if err != nil {
			return nil, err
		}
		fromFront, fromLevel = []span{{id: from, hi: lastKey(fromRoot)}}, int(fromRoot.Level)
	}
	var fresh []span // the nodes of to at level that from lacks
	for {
		for fromLevel > level {
			if fromFront, err = nodes.children(ctx, fromFront, toFront); err != nil {
				return nil, err
			}
			fromLevel--
		}
		have := map[objects.ID]bool{}
		if fromLevel == level {
			for _, s := range fromFront {
				have[s.id] = true
			}
		}
		fresh = nil
		for _, s := range toFront {
			if !have[s.id] {
				fresh = append(fresh, s)
				d.newNodes[level] = append(d.newNodes[level], s.id)
			}
		}
		if level == 0 || len(fresh) == 0 {
			break
		}
		if toFront, err = nodes.children(ctx, fresh, nil); err != nil {
			return nil, err
		}
		if fromLevel == level {
			if fromFront, err = nodes.children(ctx, fromFront, fresh); err != nil {
				return nil, err
			}
			fromLevel--
		}
		level--
	}
	if fromLevel == 0 {
		// Only the old leaves next to the new ones: above the leaves,
		// the old front is every child of the old nodes that overlap.
		for _, s := range overlapping(fromFront, fresh) {
			n, err := nodes.read(ctx, s.id)
			if err != nil {
				return nil, err
			}
			// Most changes are next to one old leaf: its items as they
			// are, not a copy; clipped, so that the append of a second
			// leaf copies them rather than write into the node's array.
			if d.old == nil {
				d.old = slices.Clip(n.Items)
			} else {
				d.old = append(d.old, n.Items...)
			}
		}
	}
	return d, nil
}

func lastKey(n *objects.Node) string { return n.Items[len(n.Items)-1].Key }

// nodeReader reads and decodes nodes, keeping the ones of the current walk
// with their stored bytes: a sender sends the new nodes it decoded, and a
// second read from Badger would decompress a block and hash them again.
type nodeReader struct {
	store   objects.ObjectReader
	decoded DecodedNodes // nil: none
	cache   map[objects.ID]readNode
}

type readNode struct {
	node *objects.Node
	data []byte // nil for a node decoded held: read on demand
}

func newNodeReader(store objects.ObjectReader) *nodeReader {
	return &nodeReader{store: store, cache: map[objects.ID]readNode{}}
}

// maxCachedNodes bounds the decoded nodes kept between levels.
const maxCachedNodes = 4096

func (r *nodeReader) read(ctx context.Context, id objects.ID) (*objects.Node, error) {
	if n, ok := r.cache[id]; ok {
		return n.node, nil
	}
	var data []byte
	n := r.cachedNode(id)
	if n == nil {
		var err error
		if data, err = r.store.Get(ctx, id); err != nil {
			return nil, err
		}
		if n, err = objects.DecodeNode(data); err != nil {
			return nil, err
		}
	}
	if len(r.cache) >= maxCachedNodes {
		clear(r.cache)
	}
	r.cache[id] = readNode{node: n, data: data}
	return n, nil
}

func (r *nodeReader) cachedNode(id objects.ID) *objects.Node {
	if r.decoded == nil {
		return nil
	}
	return r.decoded.Cached(id)
}

// get is the stored bytes of an object: a node's as read, else from the
// store.
func (r *nodeReader) get(ctx context.Context, id objects.ID) ([]byte, error) {
	if n, ok := r.cache[id]; ok && n.data != nil {
		return n.data, nil
	}
	return r.store.Get(ctx, id)
}

// children lists the children of the given nodes with their ranges; with
// a non-nil within, only the children overlapping one of those spans.
func (r *nodeReader) children(ctx context.Context, parents, within []span) ([]span, error) {
	var out []span
	for _, p := range parents {
		n, err := r.read(ctx, p.id)
		if err != nil {
			return nil, err
		}
		if n.Level == 0 {
			continue
		}
		lo := p.lo
		for _, it := range n.Items {
			out = append(out, span{id: it.Entry.ID, lo: lo, hi: it.Key})
			lo = it.Key
		}
	}
	if within == nil {
		return out, nil
	}
	return overlapping(out, within), nil
}

// overlapping keeps the spans that overlap one of within; both are
// sorted, so one sweep does.
func overlapping(spans, within []span) []span {
	var out []span
	j := 0
	for _, s := range spans {
		for j < len(within) && within[j].hi <= s.lo && s.lo != "" {
			j++
		}
		for k := j; k < len(within) && (within[k].lo == "" || within[k].lo < s.hi); k++ {
			if overlaps(s, within[k]) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}
