package transfer

import (
	"context"
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
// which must be of one of the allowed types.
type deferredRef struct {
	from, id objects.ID
	allowed  []objects.Type
}

// checkDeferred checks the references deferred so far with one question
// to the store, and remembers the types it learnt.
func (rc *receiver) checkDeferred() error {
	if len(rc.deferred) == 0 {
		return nil
	}
	var ids []objects.ID
	asked := map[objects.ID]bool{}
	for _, d := range rc.deferred {
		if !asked[d.id] {
			asked[d.id] = true
			ids = append(ids, d.id)
		}
	}
	types, err := rc.batcher.Types(rc.ctx, ids)
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
	for _, d := range rc.deferred {
		if err := checkType(d.from, d.id, found[d.id], d.allowed); err != nil {
			return err
		}
	}
	rc.deferred = rc.deferred[:0]
	return nil
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
