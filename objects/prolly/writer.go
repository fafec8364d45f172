package prolly

import (
	"context"
	"fmt"

	"github.com/folio-db/folio/objects"
)

// flushBytes is how many bytes of new nodes a writer gathers before it puts
// them, so that building a large map stays within bounded memory while a
// small edit still makes a single Put.
const flushBytes = 4 << 20

// writer gathers the nodes an edit or build creates and puts them in few
// calls, in the order they were made. A node is always made after its
// children, so every Put stores children before the parents that name them
// (the closure-on-write rule of package objects): a crash between two Puts
// leaves no stored node with a missing child. A node that turns out unused
// (a top that collapses onto its single child) is dropped if it has not
// been written yet, and is harmless garbage if it has.
type writer struct {
	t          *Tree
	cache      bool // also keep written nodes decoded (an edit's nodes are read next)
	nodes      map[objects.ID]pendingNode
	batch      []objects.ID
	batchBytes int
}

type pendingNode struct {
	node *objects.Node
	data []byte
}

func newWriter(t *Tree, cache bool) *writer {
	return &writer{t: t, cache: cache, nodes: map[objects.ID]pendingNode{}}
}

// write encodes a node, queues it and returns its ID.
func (w *writer) write(ctx context.Context, n *objects.Node) (objects.ID, error) {
	return w.writeEncoded(ctx, n, n.Encode())
}

// writeEncoded is write for a node already encoded as obj.
func (w *writer) writeEncoded(ctx context.Context, n *objects.Node, obj objects.Object) (objects.ID, error) {
	if _, ok := w.nodes[obj.ID]; ok {
		return obj.ID, nil
	}
	w.nodes[obj.ID] = pendingNode{n, obj.Data}
	w.batch = append(w.batch, obj.ID)
	w.batchBytes += len(obj.Data)
	if w.batchBytes >= flushBytes {
		return obj.ID, w.put(ctx, w.batch)
	}
	return obj.ID, nil
}

// lookup returns a node that is queued or already stored.
func (w *writer) lookup(ctx context.Context, id objects.ID) (*objects.Node, error) {
	if p, ok := w.nodes[id]; ok {
		return p.node, nil
	}
	return w.t.node(ctx, id)
}

// drop forgets a queued node that the final tree does not use.
func (w *writer) drop(id objects.ID) { delete(w.nodes, id) }

// finish puts everything still queued.
func (w *writer) finish(ctx context.Context) error {
	return w.put(ctx, w.batch)
}

func (w *writer) put(ctx context.Context, ids []objects.ID) error {
	objs := make([]objects.Object, 0, len(ids))
	for _, id := range ids {
		if p, ok := w.nodes[id]; ok {
			objs = append(objs, objects.Object{ID: id, Data: p.data})
		}
	}
	w.batch, w.batchBytes = w.batch[:0], 0
	if len(objs) == 0 {
		return nil
	}
	if err := w.t.store.Put(ctx, objs...); err != nil {
		return fmt.Errorf("prolly: writing %d nodes: %w", len(objs), err)
	}
	for _, o := range objs {
		if w.cache {
			w.t.cache.put(o.ID, w.nodes[o.ID].node, len(o.Data))
		}
		delete(w.nodes, o.ID)
	}
	return nil
}
