package prolly

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/folio-db/folio/objects"
)

// Get returns the entry under key; found is false if the map has none.
// It reads one node per level.
func (t *Tree) Get(ctx context.Context, root objects.ID, key string) (e objects.Entry, found bool, err error) {
	c, err := t.newCursor(ctx, root)
	if err != nil {
		return e, false, err
	}
	if err := c.seek(ctx, 0, func(k string) bool { return k >= key }, false); err != nil {
		return e, false, err
	}
	if c.done() || c.item().Key != key {
		return e, false, nil
	}
	return c.item().Entry, true, nil
}

// Count returns the number of entries in the map, from the root alone.
func (t *Tree) Count(ctx context.Context, root objects.ID) (uint64, error) {
	if root.IsZero() {
		return 0, nil
	}
	n, err := t.root(ctx, root)
	if err != nil {
		return 0, err
	}
	return count(n), nil
}

// Iterate calls fn for each entry whose key starts with prefix and is
// strictly greater than after ("" for no lower bound), in key order. It
// reads only the nodes that hold those keys (plus the path down to the
// first). fn returning ErrStop ends the walk and Iterate returns nil; any
// other error is returned as is.
func (t *Tree) Iterate(ctx context.Context, root objects.ID, prefix, after string, fn func(key string, e objects.Entry) error) error {
	c, err := t.newCursor(ctx, root)
	if err != nil || c.done() {
		return err
	}
	at := func(k string) bool { return k >= prefix }
	if after >= prefix {
		at = func(k string) bool { return k > after }
	}
	leaves := func() (*objects.Node, error) { n := c.root; c.root = nil; return n, nil }
	if c.root.Level > 0 {
		if err := c.seek(ctx, 1, at, false); err != nil {
			return err
		}
		r := t.newLeafReader(ctx, c, prefix)
		defer r.close()
		leaves = r.next
	}
	for {
		n, err := leaves()
		if n == nil || err != nil {
			return err
		}
		items := n.Items
		for _, it := range items[sort.Search(len(items), func(i int) bool { return at(items[i].Key) }):] {
			if pastPrefix(it.Key, prefix) {
				return nil
			}
			if err := fn(it.Key, it.Entry); err != nil {
				if errors.Is(err, ErrStop) {
					return nil
				}
				return err
			}
		}
	}
}

// pastPrefix reports whether key sorts after every key that starts with
// prefix. Keys with a prefix are contiguous in key order, so once a walk in
// order is past them it can stop.
func pastPrefix(key, prefix string) bool {
	return key > prefix && !strings.HasPrefix(key, prefix)
}

// Walk visits the nodes of a map top-down, depth first, parents before
// children, each node once. fn returning descend false skips the node's
// children (fsck and transfers skip subtrees they checked before); Walk
// then reads only the subtree's first and last node of each level, to
// check that it fits where it sits. fn must not
// modify n, which may be shared with the cache.
//
// Walk checks more than the other reads, as fsck and transfers rely on it:
// besides each child fitting its parent (level, key range, entry count), it
// checks that nodes are cut where the chunking rule cuts them, so a map
// received from elsewhere keeps history independence. A failed check is an
// error wrapping objects.ErrCorrupt.
func (t *Tree) Walk(ctx context.Context, root objects.ID, fn func(id objects.ID, n *objects.Node) (descend bool, err error)) error {
	return t.WalkFitting(ctx, root, nil, fn)
}

// Fits says whether the child under parent.Items[i] is known to fit
// there whole, given the key before it in the map (lo) and whether it
// ends its level: it sits one level down, under the same item (last key
// and entry count), with the same key before it, in a map that was
// checked, and it ended its level there only if it does here. Everything
// Walk checks of such a child held there, so holds here.
type Fits func(parent *objects.Node, i int, lo string, lastOfLevel bool) bool

// WalkFitting is Walk that neither reads nor visits the children fits
// vouches for (Admit knows them from the map a new map replaces, and a
// read of each was most of the work of admitting a small change to a
// large map). A nil fits vouches for none.
func (t *Tree) WalkFitting(ctx context.Context, root objects.ID, fits Fits, fn func(id objects.ID, n *objects.Node) (descend bool, err error)) error {
	if root.IsZero() {
		return nil
	}
	n, err := t.root(ctx, root)
	if err != nil {
		return err
	}
	w := walker{t: t, fits: fits, fn: fn}
	return w.walk(ctx, root, n, "", true)
}

type walker struct {
	t    *Tree
	fits Fits
	fn   func(objects.ID, *objects.Node) (bool, error)
}

func (w *walker) walk(ctx context.Context, id objects.ID, n *objects.Node, lo string, lastOfLevel bool) error {
	t, fn := w.t, w.fn
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkChunking(id, n, lastOfLevel); err != nil {
		return err
	}
	descend, err := fn(id, n)
	if err != nil || n.Level == 0 {
		return err
	}
	if !descend {
		return t.checkEdges(ctx, id, n, lo, lastOfLevel)
	}
	for i, it := range n.Items {
		childLo, childLast := lowerBound(n, i, lo), lastOfLevel && i == len(n.Items)-1
		if w.fits != nil && w.fits(n, i, childLo, childLast) {
			continue
		}
		c, err := t.child(ctx, n, i, childLo, true)
		if err != nil {
			return err
		}
		if err := w.walk(ctx, it.Entry.ID, c, childLo, childLast); err != nil {
			return err
		}
	}
	return nil
}

// checkEdges checks, for a subtree fn skipped (seen before, perhaps
// elsewhere in a map, and checked whole there), what depends on where it
// sits now: its smallest key, in its first leaf, is above lo; and unless
// it ends its level, the last node of each level under it ends at a
// boundary. The rest of a checked subtree holds wherever it is put.
func (t *Tree) checkEdges(ctx context.Context, id objects.ID, n *objects.Node, lo string, lastOfLevel bool) error {
	for first := n; ; {
		if first.Level == 0 {
			if first.Items[0].Key <= lo {
				return corrupt(id, "first key %q is not above %q", first.Items[0].Key, lo)
			}
			break
		}
		var err error
		if first, err = t.node(ctx, first.Items[0].Entry.ID); err != nil {
			return err
		}
	}
	for last := n; !lastOfLevel && last.Level > 0; {
		child := last.Items[len(last.Items)-1].Entry.ID
		var err error
		if last, err = t.node(ctx, child); err != nil {
			return err
		}
		if err := checkChunking(child, last, false); err != nil {
			return err
		}
	}
	return nil
}

// checkChunking checks that no boundary falls inside a node and, unless it
// is the last node of its level, that one falls after its last item.
func checkChunking(id objects.ID, n *objects.Node, lastOfLevel bool) error {
	size := 0
	for i, it := range n.Items {
		before := size
		size += objects.ItemSize(n.Level, it)
		split := splitAfter(n.Level, it.Key, before, size)
		switch {
		case split && i < len(n.Items)-1:
			return corrupt(id, "chunking: a boundary after item %d of %d", i, len(n.Items))
		case !split && i == len(n.Items)-1 && !lastOfLevel:
			return corrupt(id, "chunking: no boundary after the last item")
		}
	}
	return nil
}
