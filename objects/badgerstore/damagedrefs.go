package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// CheckedRefs is Refs that goes on past damaged refs: it lists the refs
// whose values pass their checks, and the damaged ones apart (fsck).
// Refs itself fails on a damaged ref, so that no caller (gc, a sync)
// takes the store for one without it.
func (s *Store) CheckedRefs(ctx context.Context, prefix string) (refs []objects.Ref, damaged []objects.DamagedRef, err error) {
	defer recoverDamage(s.dir, &err)
	if err := s.checkOpen(); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.refsMu.RLock()
	defer s.refsMu.RUnlock()
	err = s.db.View(func(txn *badger.Txn) error {
		return eachRefValue(txn, prefix, func(name string, v []byte) error {
			if id, d := checkRef(name, v, s.refsV1); d != nil {
				damaged = append(damaged, *d)
			} else {
				refs = append(refs, objects.Ref{Name: name, ID: id})
			}
			return nil
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return refs, damaged, nil
}

// eachRefValue calls fn with the name and stored value of every ref whose
// name starts with prefix, in name order. v is valid during the call only.
func eachRefValue(txn *badger.Txn, prefix string, fn func(name string, v []byte) error) error {
	keyPrefix := refKey(prefix)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: keyPrefix})
	defer it.Close()
	for it.Seek(keyPrefix); it.ValidForPrefix(keyPrefix); it.Next() {
		item := it.Item()
		name := string(item.Key()[1:])
		if err := item.Value(func(v []byte) error { return fn(name, v) }); err != nil {
			return err
		}
	}
	return nil
}

// DropDamagedRef deletes ref name if its value fails its check, and only
// then (objects.ErrRefNotDamaged; an absent ref is ErrNotFound): the one
// way out of a damaged ref, which UpdateRefs refuses to read, so to move
// or delete. The ID the value held, unverified, is retired as a ref's old
// value is (collect.go), so gc keeps what it names for the grace period,
// and a branch's removal enters the change feed, in the same transaction.
func (s *Store) DropDamagedRef(ctx context.Context, name string) (objects.DamagedRef, error) {
	if err := s.checkWritable(); err != nil {
		return objects.DamagedRef{}, err
	}
	if err := ctx.Err(); err != nil {
		return objects.DamagedRef{}, err
	}
	s.refsMu.RLock()
	defer s.refsMu.RUnlock()
	for try := range maxConflictRetries {
		backOff(try)
		var d objects.DamagedRef
		moved := false
		err := s.db.Update(func(txn *badger.Txn) error {
			var err error
			if d, err = readDamagedRef(txn, name, s.refsV1); err != nil {
				return err
			}
			if err := txn.Delete(refKey(name)); err != nil {
				return err
			}
			moved, err = s.recordMoves(txn, []objects.RefUpdate{{Name: name, Old: d.ID}})
			return err
		})
		if errors.Is(err, badger.ErrConflict) {
			continue
		}
		if err != nil {
			return objects.DamagedRef{}, err
		}
		s.refsMoved(moved)
		return d, s.syncFailed.err()
	}
	return objects.DamagedRef{}, fmt.Errorf("%w: %s kept changing during the update", objects.ErrRefChanged, name)
}

// readDamagedRef reads ref name, which must be damaged. It finds the key
// by iterating, as Refs does: a key whose name was damaged on disk is not
// the one its table's bloom filter was built from, so Get may miss it.
func readDamagedRef(txn *badger.Txn, name string, v1 bool) (objects.DamagedRef, error) {
	key := refKey(name)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: key})
	defer it.Close()
	if it.Seek(key); !it.Valid() || !bytes.Equal(it.Item().Key(), key) {
		return objects.DamagedRef{}, fmt.Errorf("badgerstore: ref %s: %w", name, objects.ErrNotFound)
	}
	item := it.Item()
	var d *objects.DamagedRef
	if err := item.Value(func(v []byte) error { _, d = checkRef(name, v, v1); return nil }); err != nil {
		return objects.DamagedRef{}, err
	}
	if d == nil {
		return objects.DamagedRef{}, fmt.Errorf("%w: %s passes its check, so it was left as it is", objects.ErrRefNotDamaged, name)
	}
	return *d, nil
}
