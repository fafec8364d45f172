package prolly

import (
	"context"
	"fmt"

	"github.com/folio-db/folio/objects"
)

// Edit sets Key to Entry, or deletes Key.
type Edit struct {
	Key    string
	Entry  objects.Entry
	Delete bool
}

// Edit applies edits, sorted by key with each key at most once, to the map
// at root and returns the new root. Deleting an absent key does nothing.
// The new nodes are written in one Put (a few for very large batches)
// before Edit returns.
//
// Each level is edited as a sorted map of its own. At the leaves, re-chunking
// starts at the first node an edit falls in (a boundary, where the chunker
// state is empty) and runs until the chunker finishes a node exactly where an
// old node ended, past the last edit in that node: from there on the old
// nodes are what a fresh chunking would give, so they are kept. The nodes
// this replaced and created become the edits of the level above (delete the
// old last key, set the new last key to the new child), and so on up to the
// root. The result is what Build would make from the same entries.
func (t *Tree) Edit(ctx context.Context, root objects.ID, edits []Edit) (objects.ID, error) {
	if err := checkEdits(edits); err != nil {
		return objects.ID{}, err
	}
	if len(edits) == 0 {
		return root, nil
	}
	w := newWriter(t, true)
	if root.IsZero() {
		return t.editEmpty(ctx, w, edits)
	}
	rootNode, err := t.root(ctx, root)
	if err != nil {
		return objects.ID{}, err
	}
	for level := uint8(0); ; level++ {
		emitted, opened, err := t.editLevel(ctx, w, root, rootNode, level, edits)
		if err != nil {
			return objects.ID{}, err
		}
		edits = parentEdits(opened, emitted)
		if len(edits) == 0 {
			return root, nil // the edits changed nothing
		}
		if level == rootNode.Level {
			newRoot, err := t.newTop(ctx, w, level, emitted)
			if err == nil {
				err = w.finish(ctx)
			}
			return newRoot, err
		}
	}
}

// editEmpty builds a map from the set edits alone.
func (t *Tree) editEmpty(ctx context.Context, w *writer, edits []Edit) (objects.ID, error) {
	b := newBuilder(w, 0)
	for _, e := range edits {
		if e.Delete {
			continue
		}
		if err := b.push(ctx, 0, objects.NodeItem{Key: e.Key, Entry: e.Entry}); err != nil {
			return objects.ID{}, err
		}
	}
	root, err := b.top(ctx)
	if err == nil {
		err = w.finish(ctx)
	}
	return root, err
}

// newTop makes the root from the nodes that replaced the old root's level:
// none is the empty map; several get new levels on top; a single one is the
// root, unless it is an internal node with one child, which the canonical
// form replaces by that child (again and again).
func (t *Tree) newTop(ctx context.Context, w *writer, level uint8, nodes []objects.NodeItem) (objects.ID, error) {
	switch len(nodes) {
	case 0:
		return objects.ID{}, nil
	case 1:
		id := nodes[0].Entry.ID
		for {
			n, err := w.lookup(ctx, id)
			if err != nil || n.Level == 0 || len(n.Items) > 1 {
				return id, err
			}
			w.drop(id)
			id = n.Items[0].Entry.ID
		}
	}
	b := newBuilder(w, level+1)
	for _, it := range nodes {
		if err := b.push(ctx, 0, it); err != nil {
			return objects.ID{}, err
		}
	}
	return b.top(ctx)
}

// editLevel applies sorted edits to one level of the old tree and returns the
// items (last key, node) of the nodes it created and of the old nodes they
// replace, in key order.
func (t *Tree) editLevel(ctx context.Context, w *writer, rootID objects.ID, root *objects.Node, level uint8, edits []Edit) (emitted, opened []objects.NodeItem, err error) {
	c := &cursor{t: t, root: root}
	ch := chunker{level: level, lend: true}
	openedIDs := map[objects.ID]bool{}
	add := func(it objects.NodeItem) error {
		if n := ch.add(it); n != nil {
			return t.emitEdited(ctx, w, n, openedIDs, &emitted)
		}
		return nil
	}
	for i := 0; i < len(edits); {
		key := edits[i].Key
		if err := c.seek(ctx, level, func(k string) bool { return k >= key }, true); err != nil {
			return nil, nil, err
		}
		for {
			n, entry := c.top().node, c.nodeEntry(rootID)
			hi := n.Items[len(n.Items)-1].Key
			opened = append(opened, objects.NodeItem{Key: hi, Entry: entry})
			openedIDs[entry.ID] = true
			ch.grow(len(n.Items) + 1)
			last := c.onLastNode()
			for j := 0; ; {
				editHere := i < len(edits) && (last || edits[i].Key <= hi)
				oldHere := j < len(n.Items)
				if !editHere && !oldHere {
					break
				}
				if oldHere && (!editHere || n.Items[j].Key < edits[i].Key) {
					if err := add(n.Items[j]); err != nil {
						return nil, nil, err
					}
					j++
					continue
				}
				e := edits[i]
				i++
				if oldHere && n.Items[j].Key == e.Key {
					j++
				}
				if !e.Delete {
					if err := add(objects.NodeItem{Key: e.Key, Entry: e.Entry}); err != nil {
						return nil, nil, err
					}
				}
			}
			if last {
				if n := ch.flush(); n != nil {
					if err := t.emitEdited(ctx, w, n, openedIDs, &emitted); err != nil {
						return nil, nil, err
					}
				}
				break
			}
			if ch.empty() {
				break // the new boundaries meet the old ones again
			}
			if err := c.nextNode(ctx, level); err != nil {
				return nil, nil, err
			}
		}
	}
	return emitted, opened, nil
}

// emitEdited writes a node an edit created, unless it is one of the old nodes
// it re-chunked (an edit that changed nothing there), and records its item.
func (t *Tree) emitEdited(ctx context.Context, w *writer, n *objects.Node, old map[objects.ID]bool, emitted *[]objects.NodeItem) error {
	it := objects.NodeItem{Key: n.Items[len(n.Items)-1].Key, Entry: objects.Entry{Size: count(n)}}
	obj := n.Encode()
	it.Entry.ID = obj.ID
	if !old[obj.ID] {
		if _, err := w.writeEncoded(ctx, n, obj); err != nil {
			return err
		}
	}
	*emitted = append(*emitted, it)
	return nil
}

// parentEdits turns the nodes a level replaced and created into edits of the
// level above; a node replaced by itself is no edit.
func parentEdits(opened, emitted []objects.NodeItem) []Edit {
	var edits []Edit
	i, j := 0, 0
	for i < len(opened) || j < len(emitted) {
		switch {
		case j == len(emitted) || i < len(opened) && opened[i].Key < emitted[j].Key:
			edits = append(edits, Edit{Key: opened[i].Key, Delete: true})
			i++
		case i == len(opened) || emitted[j].Key < opened[i].Key:
			edits = append(edits, Edit{Key: emitted[j].Key, Entry: emitted[j].Entry})
			j++
		default:
			if opened[i].Entry != emitted[j].Entry {
				edits = append(edits, Edit{Key: emitted[j].Key, Entry: emitted[j].Entry})
			}
			i++
			j++
		}
	}
	return edits
}

// checkEdits checks that edits are sorted, unique and valid.
func checkEdits(edits []Edit) error {
	for i, e := range edits {
		if i > 0 && e.Key <= edits[i-1].Key {
			return fmt.Errorf("%w: key %q after %q: edits must be sorted with each key once", ErrBadEdit, e.Key, edits[i-1].Key)
		}
		if e.Delete {
			if err := objects.ValidateKey(e.Key); err != nil {
				return fmt.Errorf("%w: %w", ErrBadEdit, err)
			}
			continue
		}
		if err := checkEntry(e.Key, e.Entry); err != nil {
			return err
		}
	}
	return nil
}
