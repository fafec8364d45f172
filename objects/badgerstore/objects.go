package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// Get implements objects.ObjectReader. Badger does not check the bytes it
// reads back (value-log and table checksums are off for speed), so Get
// checks them against the ID: a flipped bit on disk is an error wrapping
// objects.ErrDamaged, never wrong bytes.
func (s *Store) Get(ctx context.Context, id objects.ID) (_ []byte, err error) {
	defer recoverDamage(s.dir, &err)
	if data, ok, err := s.getRecent(ctx, id); ok || err != nil {
		return data, err
	}
	epoch := s.recent.Epoch()
	data, err := s.get(ctx, objectKey(id), id)
	if err != nil || s.unverified {
		return data, err
	}
	if err := objects.CheckStored(id, data); err != nil {
		return nil, err
	}
	if s.recent != nil { // the copy is for it alone
		s.recent.Add(epoch, id, bytes.Clone(data))
	}
	return data, nil
}

// getRecent is Get from the objects kept in memory (Options.RecentBytes):
// a copy of their bytes, checked against id like those read from Badger.
func (s *Store) getRecent(ctx context.Context, id objects.ID) ([]byte, bool, error) {
	kept, ok := s.recent.Get(id)
	if !ok {
		return nil, false, nil
	}
	if err := s.checkOpen(); err != nil {
		return nil, true, err
	}
	if err := ctx.Err(); err != nil {
		return nil, true, err
	}
	data := bytes.Clone(kept)
	if !s.unverified {
		if err := objects.CheckStored(id, data); err != nil {
			return nil, true, err
		}
	}
	return data, true, nil
}

// get reads the value kept under key for object id, as stored: callers
// check what they hand on (Get, the quarantine's Get).
func (s *Store) get(ctx context.Context, key []byte, id objects.ID) ([]byte, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var data []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		// The value belongs to the transaction; the caller gets a copy.
		data, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("badgerstore: object %s: %w", id.Short(), objects.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("badgerstore: get %s: %w", id.Short(), err)
	}
	return data, nil
}

// Has implements objects.ObjectReader.
func (s *Store) Has(ctx context.Context, id objects.ID) (_ bool, err error) {
	defer recoverDamage(s.dir, &err)
	if _, ok := s.recent.Get(id); ok {
		if err := s.checkOpen(); err != nil {
			return false, err
		}
		return true, ctx.Err()
	}
	return s.has(ctx, objectKey(id), id)
}

func (s *Store) has(ctx context.Context, key []byte, id objects.ID) (bool, error) {
	if err := s.checkOpen(); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	var has bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		has, err = hasKey(txn, key)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("badgerstore: has %s: %w", id.Short(), err)
	}
	return has, nil
}

func hasKey(txn *badger.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return false, nil
	}
	return false, err
}

// cancelCheckEvery is how many objects Put and Objects handle between two
// looks at their context.
const cancelCheckEvery = 256

// Put implements objects.ObjectWriter. The objects go through a Badger
// WriteBatch, which splits them into transactions of the largest size
// Badger allows and commits those in the background. Putting an object
// again writes a second copy of the same bytes that compaction drops; that
// is cheaper than looking every object up first (the lookups of a 100,000
// object import cost more than the rare duplicate). Put returns once its
// objects are in Badger's synced write-ahead log (syncWrites), so one Put
// of many objects costs far less than many Puts of one.
func (s *Store) Put(ctx context.Context, objs ...objects.Object) error {
	epoch := s.recent.Epoch()
	err := s.write(ctx, objs, func(wb *badger.WriteBatch, o objects.Object) error {
		return wb.Set(objectKey(o.ID), o.Data)
	})
	if err == nil && s.recent != nil {
		for _, o := range objs {
			s.recent.Add(epoch, o.ID, bytes.Clone(o.Data)) // the caller may reuse o.Data
		}
	}
	return err
}

// checkRoomFor refuses objects larger than MaxObjectSize, and objects the
// disk has no room for (checkSpace).
func (s *Store) checkRoomFor(objs []objects.Object) error {
	var size int64
	for _, o := range objs {
		if len(o.Data) > MaxObjectSize {
			return fmt.Errorf("%w: object %s is %d bytes, the store takes at most %d",
				objects.ErrTooLarge, o.ID.Short(), len(o.Data), MaxObjectSize)
		}
		size += int64(len(o.Data))
	}
	return s.checkSpace(size)
}

// write puts objects through one WriteBatch, set writing each one's keys.
func (s *Store) write(ctx context.Context, objs []objects.Object, set func(*badger.WriteBatch, objects.Object) error) error {
	if err := s.checkWritable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.checkRoomFor(objs); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for i, o := range objs {
		if i%cancelCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := set(wb, o); err != nil {
			return fmt.Errorf("badgerstore: put: %w", err)
		}
		s.written.Add(int64(len(o.Data)))
	}
	// Flush waits for every transaction, so the caller may reuse the
	// objects' bytes once Put returns.
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("badgerstore: put: %w", err)
	}
	return s.syncFailed.err() // Badger logs a failed value-log sync, and returns nil
}

// Objects implements objects.ObjectWalker. The walk reads one consistent
// snapshot; objects put during it may or may not be visited.
func (s *Store) Objects(ctx context.Context, prefix []byte, fn func(id objects.ID, data []byte) error) (err error) {
	defer recoverDamage(s.dir, &err)
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(prefix) > objects.IDSize {
		return nil
	}
	return s.db.View(func(txn *badger.Txn) error {
		return eachItem(ctx, txn, objectKeyPrefix(prefix), func(item *badger.Item) error {
			id, err := idFromObjectKey(item.Key())
			if err != nil {
				return err
			}
			return item.Value(func(data []byte) error { return fn(id, data) })
		})
	})
}

// eachItem calls fn with the newest version of every key that starts with
// prefix, in key order, looking at ctx between keys.
func eachItem(ctx context.Context, txn *badger.Txn, prefix []byte, fn func(*badger.Item) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(it.Item()); err != nil {
			return err
		}
	}
	return nil
}
