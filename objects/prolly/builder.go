package prolly

import (
	"context"
	"fmt"
	"iter"

	"github.com/folio-db/folio/objects"
)

// Builder builds a map from entries given in increasing key order, in one
// pass and bounded memory: each level has a chunker, and a node that a
// level emits becomes an item of the level above. The result is the same
// map, with the same root ID, as any sequence of edits to the same entries.
type Builder struct {
	w      *writer
	base   uint8 // the level of the items added
	levels []*buildLevel
	last   string
	n      uint64
	err    error
}

// buildLevel is one level under construction. Its first node is held back
// until a second one shows the level is not the top: the root is the first
// level with a single node, never an internal node with a single child.
type buildLevel struct {
	ch    chunker
	first objects.NodeItem
	nodes int
}

// NewBuilder returns a builder writing to t's store.
func (t *Tree) NewBuilder() *Builder {
	return newBuilder(newWriter(t, false), 0)
}

func newBuilder(w *writer, base uint8) *Builder {
	return &Builder{w: w, base: base}
}

// Add appends an entry. Keys must be strictly increasing; after an error
// the builder is unusable and every call returns that error.
func (b *Builder) Add(ctx context.Context, key string, e objects.Entry) error {
	if b.err != nil {
		return b.err
	}
	if b.n > 0 && key <= b.last {
		b.err = fmt.Errorf("%w: key %q after %q", ErrBadEdit, key, b.last)
		return b.err
	}
	if err := checkEntry(key, e); err != nil {
		b.err = err
		return err
	}
	b.last = key
	b.n++
	b.err = b.push(ctx, 0, objects.NodeItem{Key: key, Entry: e})
	return b.err
}

// Finish writes what is left and returns the root ID (zero if nothing was
// added).
func (b *Builder) Finish(ctx context.Context) (objects.ID, error) {
	if b.err != nil {
		return objects.ID{}, b.err
	}
	root, err := b.top(ctx)
	if err == nil {
		err = b.w.finish(ctx)
	}
	if err != nil {
		b.err = err
		return objects.ID{}, err
	}
	return root, nil
}

// Build builds a map from entries in strictly increasing key order.
func (t *Tree) Build(ctx context.Context, entries iter.Seq2[string, objects.Entry]) (objects.ID, error) {
	b := t.NewBuilder()
	for k, e := range entries {
		if err := b.Add(ctx, k, e); err != nil {
			return objects.ID{}, err
		}
	}
	return b.Finish(ctx)
}

// push adds an item to level base+i.
func (b *Builder) push(ctx context.Context, i int, it objects.NodeItem) error {
	if i == len(b.levels) {
		level := int(b.base) + i
		if level > objects.MaxNodeLevel {
			return fmt.Errorf("prolly: a tree deeper than %d levels", objects.MaxNodeLevel)
		}
		b.levels = append(b.levels, &buildLevel{ch: chunker{level: uint8(level)}})
	}
	if n := b.levels[i].ch.add(it); n != nil {
		return b.emit(ctx, i, n)
	}
	return nil
}

// emit writes a node of level base+i and hands its item to the level above.
func (b *Builder) emit(ctx context.Context, i int, n *objects.Node) error {
	id, err := b.w.write(ctx, n)
	if err != nil {
		return err
	}
	it := objects.NodeItem{Key: n.Items[len(n.Items)-1].Key, Entry: objects.Entry{ID: id, Size: count(n)}}
	lv := b.levels[i]
	lv.nodes++
	switch lv.nodes {
	case 1:
		lv.first = it
		return nil
	case 2:
		if err := b.push(ctx, i+1, lv.first); err != nil {
			return err
		}
	}
	return b.push(ctx, i+1, it)
}

// top flushes every level from the bottom up and returns the root: the
// single node of the highest level.
func (b *Builder) top(ctx context.Context) (objects.ID, error) {
	for i := 0; i < len(b.levels); i++ {
		if n := b.levels[i].ch.flush(); n != nil {
			if err := b.emit(ctx, i, n); err != nil {
				return objects.ID{}, err
			}
		}
	}
	if len(b.levels) == 0 || b.levels[0].nodes == 0 {
		return objects.ID{}, nil
	}
	return b.levels[len(b.levels)-1].first.Entry.ID, nil
}

// checkEntry checks what a leaf can hold.
func checkEntry(key string, e objects.Entry) error {
	if err := objects.ValidateKey(key); err != nil {
		return fmt.Errorf("%w: %w", ErrBadEdit, err)
	}
	if e.ID.IsZero() || e.Kind < objects.KindText || e.Kind > objects.KindConflict {
		return fmt.Errorf("%w: key %q: entry with ID %s and kind %d", ErrBadEdit, key, e.ID.Short(), e.Kind)
	}
	return nil
}
