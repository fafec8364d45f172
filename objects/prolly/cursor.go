package prolly

import (
	"context"
	"sort"

	"github.com/folio-db/folio/objects"
)

// frame is one node on a cursor's path, with the index of the item the
// cursor is in (or, for the last frame, at).
type frame struct {
	node *objects.Node
	idx  int
	lo   string // the key before the node's first key in the map ("" if none)
}

// cursor is a position in a map. Its last frame is the current item: a leaf
// entry, or, at an internal level, the whole subtree under that item, not yet
// loaded. Walks that skip subtrees (Diff, Edit) move over them without
// reading them. A cursor with no frames is past the end.
type cursor struct {
	t      *Tree
	root   *objects.Node // nil for the empty map
	frames []frame
}

// newCursor returns a cursor on the root's first item, or past the end for
// the empty map.
func (t *Tree) newCursor(ctx context.Context, root objects.ID) (*cursor, error) {
	c := &cursor{t: t}
	if root.IsZero() {
		return c, nil
	}
	n, err := t.root(ctx, root)
	if err != nil {
		return nil, err
	}
	c.root = n
	c.frames = append(make([]frame, 0, 8), frame{node: n})
	return c, nil
}

func (c *cursor) done() bool             { return len(c.frames) == 0 }
func (c *cursor) top() *frame            { return &c.frames[len(c.frames)-1] }
func (c *cursor) level() uint8           { return c.top().node.Level }
func (c *cursor) item() objects.NodeItem { f := c.top(); return f.node.Items[f.idx] }

// lo returns the key before the current item ("" if none).
func (c *cursor) lo() string { f := c.top(); return lowerBound(f.node, f.idx, f.lo) }

// descend replaces the current subtree by its first item.
func (c *cursor) descend(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f := c.top()
	lo := lowerBound(f.node, f.idx, f.lo)
	n, err := c.t.child(ctx, f.node, f.idx, lo, true)
	if err != nil {
		return err
	}
	c.frames = append(c.frames, frame{node: n, lo: lo})
	return nil
}

// advance moves past the current item (and the subtree under it). When a
// node is used up the cursor climbs, so the next item may be a bigger
// subtree.
func (c *cursor) advance() {
	for len(c.frames) > 0 {
		f := c.top()
		f.idx++
		if f.idx < len(f.node.Items) {
			return
		}
		c.frames = c.frames[:len(c.frames)-1]
	}
}

// seek restarts from the root and goes down to level, at each node onto the
// first item whose key satisfies at (a predicate that is false then true
// along the keys). With clamp, a node without such an item puts the cursor
// on its last item (Edit uses that to find the node a new last key goes
// into); without, the cursor ends past the end.
func (c *cursor) seek(ctx context.Context, level uint8, at func(key string) bool, clamp bool) error {
	if c.root == nil {
		return nil
	}
	c.frames = append(c.frames[:0], frame{node: c.root})
	for {
		f := c.top()
		items := f.node.Items
		f.idx = sort.Search(len(items), func(i int) bool { return at(items[i].Key) })
		if f.idx == len(items) {
			if !clamp {
				c.frames = c.frames[:0]
				return nil
			}
			f.idx--
		}
		if f.node.Level <= level {
			return nil
		}
		if err := c.descend(ctx); err != nil {
			return err
		}
	}
}

// downTo descends through first items until the cursor is at level.
func (c *cursor) downTo(ctx context.Context, level uint8) error {
	for !c.done() && c.level() > level {
		if err := c.descend(ctx); err != nil {
			return err
		}
	}
	return nil
}

// nodeEntry returns the entry naming the node the cursor is in: its parent's
// item, or for the root, rootID and its count.
func (c *cursor) nodeEntry(rootID objects.ID) objects.Entry {
	if len(c.frames) < 2 {
		return objects.Entry{ID: rootID, Size: count(c.root)}
	}
	p := c.frames[len(c.frames)-2]
	return p.node.Items[p.idx].Entry
}

// onLastNode reports whether the node the cursor is in is the last of its
// level.
func (c *cursor) onLastNode() bool {
	for _, f := range c.frames[:len(c.frames)-1] {
		if f.idx != len(f.node.Items)-1 {
			return false
		}
	}
	return true
}

// nextNode moves to the first item of the next node of the same level.
func (c *cursor) nextNode(ctx context.Context, level uint8) error {
	c.frames = c.frames[:len(c.frames)-1]
	c.advance()
	return c.downTo(ctx, level)
}
