package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// Ref implements objects.RefReader.
func (s *Store) Ref(ctx context.Context, name string) (_ objects.ID, err error) {
	defer recoverDamage(s.dir, &err)
	if err := s.checkOpen(); err != nil {
		return objects.ID{}, err
	}
	if err := ctx.Err(); err != nil {
		return objects.ID{}, err
	}
	var id objects.ID
	s.refsMu.RLock()
	defer s.refsMu.RUnlock()
	err = s.db.View(func(txn *badger.Txn) error {
		var err error
		id, err = readRefOf(txn, name, s.refsV1)
		return err
	})
	if err == nil && id.IsZero() {
		err = fmt.Errorf("badgerstore: ref %s: %w", name, objects.ErrNotFound)
	}
	return id, err
}

// readRef returns the ID name points at, or the zero ID if it is absent,
// in a store open for writing: one of formatRecord (Open upgrades one of
// format 1).
func readRef(txn *badger.Txn, name string) (objects.ID, error) {
	return readRefOf(txn, name, false)
}

// readRefOf is readRef in a store whose refs may lack their check (v1,
// see refValue).
func readRefOf(txn *badger.Txn, name string, v1 bool) (objects.ID, error) {
	item, err := txn.Get(refKey(name))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return objects.ID{}, nil
	}
	if err != nil {
		return objects.ID{}, fmt.Errorf("badgerstore: ref %s: %w", name, err)
	}
	var id objects.ID
	err = item.Value(func(v []byte) error {
		id, err = refValue(name, v, v1)
		return err
	})
	return id, err
}

// Refs implements objects.RefReader. Keys sort bytewise, which is the
// order of the names. It fails on the first damaged ref (CheckedRefs goes
// on past them).
func (s *Store) Refs(ctx context.Context, prefix string) ([]objects.Ref, error) {
	refs, damaged, err := s.CheckedRefs(ctx, prefix)
	if err == nil && len(damaged) > 0 {
		err = damaged[0].Err()
	}
	if err != nil {
		return nil, err
	}
	return refs, nil
}

// maxConflictRetries bounds how often UpdateRefs retries a transaction that
// Badger aborted because another one changed a ref it read. Each retry
// reads the refs again, so it ends in success or ErrRefChanged long before
// the bound unless writers keep moving the same refs.
const maxConflictRetries = 100

// UpdateRefs implements objects.RefUpdater. It checks every Old and writes
// every New in one read-write transaction, which is durable when it
// returns. Invariant 2 of DESIGN.md (a ref never moves before what it
// points at is on disk) holds because every Put returned only once its
// objects were in the synced write-ahead log (syncWrites in options.go).
func (s *Store) UpdateRefs(ctx context.Context, updates ...objects.RefUpdate) error {
	if err := objects.CheckRefUpdates(updates); err != nil {
		return err
	}
	if err := s.checkWritable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(updates) == 0 {
		return nil
	}
	if err := s.checkSpace(0); err != nil {
		return err
	}
	if len(chunkUpdates(updates)) > 1 {
		return s.updateManyRefs(ctx, updates)
	}
	s.refsMu.RLock()
	defer s.refsMu.RUnlock()
	for try := range maxConflictRetries {
		backOff(try)
		moved := false
		err := s.db.Update(func(txn *badger.Txn) error {
			var err error
			if moved, err = s.writeRefs(txn, updates); err != nil {
				return err
			}
			if hook := s.beforeRefCommit; hook != nil {
				hook()
			}
			return nil
		})
		if errors.Is(err, badger.ErrConflict) {
			// Another transaction moved a ref we read since we read it.
			continue
		}
		if err != nil {
			if errors.Is(err, objects.ErrRefChanged) {
				return err
			}
			return fmt.Errorf("badgerstore: update refs: %w", err)
		}
		s.refsMoved(moved)
		return s.syncFailed.err() // this commit's sync may be the one that failed
	}
	names := make([]string, len(updates))
	for i, u := range updates {
		names[i] = u.Name
	}
	return fmt.Errorf("%w: %s kept changing during the update", objects.ErrRefChanged, strings.Join(names, ", "))
}

func applyRefUpdates(txn *badger.Txn, updates []objects.RefUpdate) error {
	if err := checkRefs(txn, updates); err != nil {
		return err
	}
	return writeRefs(txn, updates)
}

// writeRefs sets or deletes the refs of updates, without checking them.
func writeRefs(txn *badger.Txn, updates []objects.RefUpdate) error {
	for _, u := range updates {
		var err error
		if u.New.IsZero() {
			err = txn.Delete(refKey(u.Name))
		} else {
			err = txn.Set(refKey(u.Name), encodeRef(u.Name, u.New))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// writeRefs applies ref updates in txn with what every ref move records
// in the same transaction: the values the refs leave (kept for gc's grace
// period, collect.go) and the change feed's entries (feed.go). It reports
// whether a branch moved. Every path that moves refs (UpdateRefs, a
// quarantine's Promote) goes through it, and calls refsMoved once txn
// committed.
func (s *Store) writeRefs(txn *badger.Txn, updates []objects.RefUpdate) (moved bool, err error) {
	if err := applyRefUpdates(txn, updates); err != nil {
		return false, err
	}
	return s.recordMoves(txn, updates)
}

// recordMoves records in txn what ref moves leave besides the refs
// themselves: the values retired, and the change feed's entries.
func (s *Store) recordMoves(txn *badger.Txn, updates []objects.RefUpdate) (moved bool, err error) {
	if err := s.retire(txn, updates); err != nil {
		return false, err
	}
	return s.feed.record(txn, updates)
}

// refsMoved tells the change feed's waiters and gc's time marks that refs
// moved, once the transaction of writeRefs committed.
func (s *Store) refsMoved(branchMoved bool) {
	if branchMoved {
		s.feed.signal()
	}
	s.markWritten()
}

// backOff waits before retry try (none before the first) of a ref-moving
// transaction that conflicted. Every such transaction writes the change
// feed's sequence number, so concurrent moves of different refs conflict
// too; retrying at once lets the same ones lose again and again.
func backOff(try int) {
	if try > 0 {
		time.Sleep(time.Duration(try) * 100 * time.Microsecond)
	}
}
