package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/folio-db/folio/objects"
)

// Pins keep, from the collections of this process, the stored objects a
// transfer builds on without writing them again (doc.go, "Garbage
// collection: receives"). A quarantine pins the ref values it is about
// to set; what they reach through it and the store is kept; Discard
// releases them.

// ErrCollected: a collection under way deleted part of what a transfer
// builds on, which the store held when the transfer looked. The transfer
// changed nothing; sent again whole, it succeeds. It wraps
// objects.ErrNotFound, on which a sender sends again without trusting
// what the receiver said it holds.
var ErrCollected = fmt.Errorf("badgerstore: %w: a collection under way deleted objects this transfer builds on (send them again)", objects.ErrNotFound)

// pinning is the store's registry of pins and collections.
type pinning struct {
	mu sync.Mutex
	// collections are those begun (not dry runs) and not ended.
	collections map[*Collection]struct{}
	// pinned are the quarantines that hold pins.
	pinned map[*quarantine]struct{}
	// sweepsEnded counts the sweeps that deleted objects and ended: a
	// quarantine made before one ended may have trusted what it deleted.
	// Written under mu; read without it as a quarantine begins.
	sweepsEnded atomic.Uint64
}

// pinLookStep, when a test sets it, is told each object a pin's walk
// did not find where it looked first, before it looks in the other place.
var pinLookStep func(objects.ID)

// pin is what one Pin asked to keep, and through which quarantine.
type pin struct {
	q   *quarantine
	ids []objects.ID
}

// collectionPins is a collection's share of the pins (under pinning.mu).
type collectionPins struct {
	// pending are the pins of before the sweep: roots it walks first.
	pending []pin
	// sweeping: the sweep deletes, and a pin walks what it reaches at once.
	sweeping bool
	marked   func(objects.ID) bool
	// kept is what the pins reach in the store that the mark did not.
	kept    map[objects.ID]struct{}
	deleted bool // the sweep deleted objects
	ended   bool
}

// beginPins registers a collection: it takes every pin held now.
func (s *Store) beginPins(c *Collection) {
	p := &s.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.collections == nil {
		p.collections = map[*Collection]struct{}{}
	}
	p.collections[c] = struct{}{}
	for q := range p.pinned {
		c.pins.pending = append(c.pins.pending, pin{q, q.pins})
	}
}

// End ends a collection: it stops taking pins. Sweep ends it; a caller
// that stops before sweeping ends it itself. It is safe to call twice.
func (c *Collection) End() {
	p := &c.s.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.pins.ended {
		return
	}
	delete(p.collections, c)
	if c.pins.deleted {
		p.sweepsEnded.Add(1)
	}
	c.pins = collectionPins{ended: true}
}

// startSweep keeps what the pins taken so far reach, and from then on
// what each new pin reaches, before its sweep deletes anything. What the
// mark reached (marked) is kept already.
func (c *Collection) startSweep(ctx context.Context, marked func(objects.ID) bool) error {
	p := &c.s.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	c.pins.marked, c.pins.kept = marked, map[objects.ID]struct{}{}
	pending := c.pins.pending
	c.pins.pending, c.pins.sweeping = nil, true
	for _, pn := range pending {
		// Nothing this sweep deletes went before: what a pin of then
		// misses was never stored (a refused transfer) or is damage.
		if _, err := c.keepReached(ctx, pn, false); err != nil {
			return err
		}
	}
	return nil
}

// pinned reports whether a pin keeps id.
func (c *Collection) pinned(id objects.ID) bool {
	c.s.pins.mu.Lock()
	defer c.s.pins.mu.Unlock()
	_, ok := c.pins.kept[id]
	return ok
}

// deleteUnpinned deletes the object keys that no pin keeps, holding
// pinning.mu so that no pin comes between the check and the delete.
func (c *Collection) deleteUnpinned(ctx context.Context, keys [][]byte) (int, int64, error) {
	p := &c.s.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	left := keys[:0]
	for _, k := range keys {
		if id, err := idFromObjectKey(k); err == nil {
			if _, ok := c.pins.kept[id]; ok {
				continue
			}
		}
		left = append(left, k)
	}
	n, size, err := c.deleteOld(ctx, left)
	if n > 0 || err != nil {
		c.pins.deleted = true
	}
	return n, size, err
}

// keepReached walks from a pin's ids through its quarantine and the
// store, down to what the mark reached, adds the stored objects it meets
// to kept, and returns them. Strict (a pin during the sweep), everything
// must be there: if the sweep deleted any of it, it adds nothing and
// returns ErrCollected.
func (c *Collection) keepReached(ctx context.Context, pn pin, strict bool) (added []objects.ID, err error) {
	defer func() {
		if err != nil {
			c.unkeep(added)
			added = nil
		}
	}()
	stack := append([]objects.ID(nil), pn.ids...)
	quarantined := map[objects.ID]bool{} // walked already
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := c.pins.kept[id]; ok || id.IsZero() || quarantined[id] || c.pins.marked(id) {
			continue
		}
		// The quarantine first: its Promote stores its objects before it
		// drops them, so what one look misses the other finds.
		data, inQuarantine, err := pn.q.own(ctx, id)
		if err != nil {
			return added, err
		}
		if !inQuarantine && pinLookStep != nil {
			pinLookStep(id)
		}
		stored := false
		if inQuarantine {
			quarantined[id] = true
			stored, err = c.s.has(ctx, objectKey(id), id)
		} else {
			data, err = c.s.get(ctx, objectKey(id), id)
			stored = err == nil
			if errors.Is(err, objects.ErrNotFound) {
				if strict {
					return added, fmt.Errorf("%w: %s", ErrCollected, id.Short())
				}
				continue // never stored: a refused transfer's
			}
		}
		if err != nil {
			return added, err
		}
		if stored {
			// Kept even when the quarantine holds it too: Admit does not
			// promote what it found stored.
			c.pins.kept[id] = struct{}{}
			added = append(added, id)
		}
		if refs, err := objects.References(data); err == nil { // damaged: nothing to follow
			stack = append(stack, refs...)
		}
	}
	return added, nil
}

// unkeep undoes keepReached: a refused pin leaves the sweep as it was,
// which then deletes the rest of what was cut.
func (c *Collection) unkeep(ids []objects.ID) {
	for _, id := range ids {
		delete(c.pins.kept, id)
	}
}

// Pin keeps what ids reach, through q and the store, from every
// collection that runs before q is discarded (transfer.Pinner): q's
// transfer is about to set refs to ids, and builds on what the store
// holds without writing it again. It fails with ErrCollected if a
// collection may have deleted part of that already.
func (q *quarantine) Pin(ctx context.Context, ids ...objects.ID) error {
	if len(ids) == 0 {
		return nil
	}
	ids = slices.Clone(ids) // kept past the call
	p := &q.s.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sweepsEnded.Load() != q.sweepsSeen {
		// The transfer looked at the store before that sweep, or while
		// it ran; what it found may be gone.
		return fmt.Errorf("%w (the collection ended during the transfer)", ErrCollected)
	}
	// Sweeping collections keep what the pin reaches at once, all of them
	// or, if one finds something gone, none: a stored object that one
	// kept and another cut under would outlive both with a hole.
	added := map[*Collection][]objects.ID{}
	for c := range p.collections {
		if !c.pins.sweeping {
			continue
		}
		kept, err := c.keepReached(ctx, pin{q, ids}, true)
		if err != nil {
			for c, kept := range added {
				c.unkeep(kept)
			}
			return err
		}
		added[c] = kept
	}
	for c := range p.collections {
		if !c.pins.sweeping {
			c.pins.pending = append(c.pins.pending, pin{q, ids})
		}
	}
	if p.pinned == nil {
		p.pinned = map[*quarantine]struct{}{}
	}
	p.pinned[q] = struct{}{}
	if q.pins == nil {
		q.pins = ids // a copy already
	} else {
		q.pins = append(q.pins, ids...)
	}
	return nil
}

// seeSweeps notes, as q begins, the sweeps that ended before it.
func (q *quarantine) seeSweeps() {
	q.sweepsSeen = q.s.pins.sweepsEnded.Load()
}

// unpin releases q's pins: collections running keep what they took.
func (q *quarantine) unpin() {
	p := &q.s.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	if q.pins != nil {
		delete(p.pinned, q)
		q.pins = nil
	}
}
