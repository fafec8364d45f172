package transfer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/folio-db/folio/objects"
)

// BatchReader is a store that tells the types of many objects in one
// step: a remote store (remote/client.Store, the CLI of a served
// repository), where each Get or Has is a round trip. Receive and Admit
// ask such a store about objects in batches instead of one at a time, so
// a fetch into it costs a few requests, not one per object.
type BatchReader interface {
	// Types returns the type of each object stored, and 0 for each that
	// is not.
	Types(ctx context.Context, ids []objects.ID) ([]objects.Type, error)
}

// maxDeferred bounds the references to stored objects a receiver checks
// together (before its batch of objects is stored, or sooner).
const maxDeferred = 10_000

// deferredRef is a reference to check against the store: from names id,
// which must be of one of the allowed types. item, when set, is where
// from holds it (see parentMaps).
type deferredRef struct {
	from, id objects.ID
	allowed  []objects.Type
	item     itemAt // where the reference sits, if onItem
	onItem   bool
}

// deferredCheck is what a deferred reference checks: that an object is
// stored, as one of a set of types (bit t for type t; types are below 8).
type deferredCheck struct {
	id      objects.ID
	allowed uint32
}

func typeSet(types []objects.Type) uint32 {
	var set uint32
	for _, t := range types {
		set |= 1 << t
	}
	return set
}

// checkDeferred checks the references deferred so far: those the stored
// parents' maps prove, then the rest with one question to a store that
// answers in batches, or a read of each from another; and remembers the
// types it learnt.
func (rc *receiver) checkDeferred() error {
	if len(rc.deferred) == 0 {
		return nil
	}
	var ids []objects.ID
	var rest []deferredRef
	asked := map[objects.ID]bool{}
	for _, d := range rc.deferred {
		if d.onItem {
			if ok, t := rc.parents.prove(rc.ctx, d); ok {
				if t != 0 {
					rc.remember(d.id, t)
				}
				continue
			}
		}
		rest = append(rest, d)
		if !asked[d.id] {
			asked[d.id] = true
			ids = append(ids, d.id)
		}
	}
	types, err := rc.storedTypes(ids)
	if err != nil {
		return err
	}
	found := make(map[objects.ID]objects.Type, len(ids))
	for i, id := range ids {
		if types[i] != 0 {
			found[id] = types[i]
			rc.remember(id, types[i])
		}
	}
	for _, d := range rest {
		if err := checkType(d.from, d.id, found[d.id], d.allowed); err != nil {
			return err
		}
	}
	rc.deferred = rc.deferred[:0]
	clear(rc.deferredAs)
	return nil
}

// storedTypes is the type of each object the store holds, 0 for each it
// does not.
func (rc *receiver) storedTypes(ids []objects.ID) ([]objects.Type, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if rc.batcher != nil {
		return rc.batcher.Types(rc.ctx, ids)
	}
	types := make([]objects.Type, len(ids))
	for i, id := range ids {
		data, err := rc.reads.Get(rc.ctx, id)
		if errors.Is(err, objects.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if types[i], err = objects.TypeOf(data); err != nil {
			return nil, err
		}
	}
	return types, nil
}

// checkType says whether a reference from `from` to id, whose type is t
// (0: id is nowhere), is one of the allowed types.
func checkType(from, id objects.ID, t objects.Type, allowed []objects.Type) error {
	if t == 0 {
		return fmt.Errorf("%w: %s needs %s", ErrMissingReference, from.Short(), id.Short())
	}
	if slices.Contains(allowed, t) {
		return nil
	}
	return fmt.Errorf("%w: %s names %s, a %s", ErrBadReference, from.Short(), id.Short(), t)
}

// askStored asks a store that answers in batches which of the objects
// that arrived it held already, in one step, for stored.
func (a *admitter) askStored(ctx context.Context, b BatchReader, arrived map[objects.ID]struct{}) error {
	ids := slices.Collect(maps.Keys(arrived))
	types, err := b.Types(ctx, ids)
	if err != nil {
		return err
	}
	a.arrived = make(map[objects.ID]bool, len(ids))
	for i, id := range ids {
		a.arrived[id] = types[i] != 0
	}
	return nil
}
