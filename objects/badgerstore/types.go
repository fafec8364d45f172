package badgerstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// Types returns the type of each object stored, and 0 for each that is
// not (transfer.BatchReader). A receive checks the type of every stored
// document its new leaves name, a few hundred for a one-document commit
// on a large index: one transaction for all of them, reading each value's
// first bytes in place, costs far less than a Get each (a transaction, a
// copy and a hash). The hash is checked whenever the object is read.
func (s *Store) Types(ctx context.Context, ids []objects.ID) ([]objects.Type, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	out := make([]objects.Type, len(ids))
	err := s.db.View(func(txn *badger.Txn) error {
		for i, id := range ids {
			if i%cancelCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			item, err := txn.Get(objectKey(id))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := item.Value(func(data []byte) (err error) {
				out[i], err = objects.TypeOf(data)
				return err
			}); err != nil {
				return fmt.Errorf("badgerstore: type of %s: %w", id.Short(), err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: types: %w", err)
	}
	return out, nil
}

// Types is Store.Types over the quarantine's objects, then the store's.
func (q *quarantine) Types(ctx context.Context, ids []objects.ID) ([]objects.Type, error) {
	out := make([]objects.Type, len(ids))
	var ask []objects.ID
	var at []int
	for i, id := range ids {
		data, found, spilled := q.lookup(id)
		switch {
		case found:
			t, err := objects.TypeOf(data)
			if err != nil {
				return nil, err
			}
			out[i] = t
			continue
		case spilled:
			// Rare (a pack past the memory budget): read it as Get does.
			data, err := q.Get(ctx, id)
			if err == nil {
				if out[i], err = objects.TypeOf(data); err != nil {
					return nil, err
				}
				continue
			}
			if !errors.Is(err, objects.ErrNotFound) {
				return nil, err
			}
			continue // Get looked in the store too
		}
		ask, at = append(ask, id), append(at, i)
	}
	if len(ask) == 0 {
		return out, nil
	}
	types, err := q.s.Types(ctx, ask)
	if err != nil {
		return nil, err
	}
	for j, t := range types {
		out[at[j]] = t
	}
	return out, nil
}
