package prolly

import (
	"context"
	"errors"
	"strings"

	"github.com/folio-db/folio/objects"
)

// Change is one difference between two maps. A zero From.ID means the key
// was added; a zero To.ID means it was removed.
type Change struct {
	Key      string
	From, To objects.Entry
}

// Diff calls fn for each key under prefix whose entry differs between the
// maps at from and to, in key order. fn returning ErrStop ends the walk and
// Diff returns nil.
//
// Two cursors walk the maps in step. Whenever both stand on a subtree of
// the same level with the same ID, both step over it unread: equal IDs mean
// equal entries. Otherwise the cursor on the higher subtree (both, when
// level is equal) goes down a level, until leaf entries are compared. The
// work therefore grows with the number of changes (times the depth and node
// size), not with the size of the maps.
func (t *Tree) Diff(ctx context.Context, from, to objects.ID, prefix string, fn func(Change) error) error {
	if from == to {
		return nil
	}
	a, err := t.newCursor(ctx, from)
	if err != nil {
		return err
	}
	b, err := t.newCursor(ctx, to)
	if err != nil {
		return err
	}
	if prefix != "" {
		at := func(k string) bool { return k >= prefix }
		if err := a.seek(ctx, 0, at, false); err != nil {
			return err
		}
		if err := b.seek(ctx, 0, at, false); err != nil {
			return err
		}
	}
	err = diffCursors(ctx, a, b, prefix, fn)
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

func diffCursors(ctx context.Context, a, b *cursor, prefix string, fn func(Change) error) error {
	for {
		// Stop once neither side can hold another key under prefix.
		aEnd := a.done() || pastPrefix(a.lo(), prefix)
		bEnd := b.done() || pastPrefix(b.lo(), prefix)
		if aEnd && bEnd {
			return nil
		}
		switch {
		case aEnd:
			if b.level() > 0 {
				if err := b.descend(ctx); err != nil {
					return err
				}
				continue
			}
			if err := emit(b.item(), prefix, objects.Entry{}, b.item().Entry, fn); err != nil {
				return err
			}
			b.advance()
			continue
		case bEnd:
			if a.level() > 0 {
				if err := a.descend(ctx); err != nil {
					return err
				}
				continue
			}
			if err := emit(a.item(), prefix, a.item().Entry, objects.Entry{}, fn); err != nil {
				return err
			}
			a.advance()
			continue
		}
		la, lb := a.level(), b.level()
		ia, ib := a.item(), b.item()
		switch {
		case la == lb && ia.Entry.ID == ib.Entry.ID && (la > 0 || ia.Key == ib.Key && ia.Entry == ib.Entry):
			a.advance()
			b.advance()
		case la > lb:
			if err := a.descend(ctx); err != nil {
				return err
			}
		case lb > la:
			if err := b.descend(ctx); err != nil {
				return err
			}
		case la > 0:
			if err := a.descend(ctx); err != nil {
				return err
			}
			if err := b.descend(ctx); err != nil {
				return err
			}
		case ia.Key < ib.Key:
			if err := emit(ia, prefix, ia.Entry, objects.Entry{}, fn); err != nil {
				return err
			}
			a.advance()
		case ib.Key < ia.Key:
			if err := emit(ib, prefix, objects.Entry{}, ib.Entry, fn); err != nil {
				return err
			}
			b.advance()
		default:
			if err := emit(ia, prefix, ia.Entry, ib.Entry, fn); err != nil {
				return err
			}
			a.advance()
			b.advance()
		}
	}
}

// emit reports a change of a leaf item. The cursors start at the prefix, so
// a key without it is past every key with it: ErrStop ends the walk.
func emit(it objects.NodeItem, prefix string, from, to objects.Entry, fn func(Change) error) error {
	if !strings.HasPrefix(it.Key, prefix) {
		return ErrStop
	}
	return fn(Change{Key: it.Key, From: from, To: to})
}
