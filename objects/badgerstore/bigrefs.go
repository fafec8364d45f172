package badgerstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// An update of more refs than one Badger transaction holds (a few MB with
// folio's memtables: about 25,000 refs) goes through a journal, so that it
// stays all or nothing:
//
//  1. with every other ref writer and reader of this Store held off, check
//     every Old;
//  2. write the updates as journal chunks ("j" + number), several
//     transactions;
//  3. write the decision key "J": from here the update happens;
//  4. apply each chunk and delete it in one transaction; delete "J".
//
// A crash before 3 leaves a journal that Open drops; a crash after it, one
// that Open applies. Readers in this process wait for step 4 to end; no
// other process has the store open.
const (
	journalPrefix = 'j'
	journalDone   = "J"
)

// One transaction of refs carries at most refChunkBytes and refChunkCount
// refs: well under Badger's limits for a 16 MiB memtable (15% of it, and
// about 25,000 entries). A ref move writes up to four entries (writeRefs):
// the ref, the value it left, its change-feed entry (which holds the name
// again) and the deletion of the feed's oldest entry; refEntryCost is
// their keys, IDs and Badger's per-entry costs, besides the name twice.
const (
	refChunkBytes = 1 << 20
	refChunkCount = 5000
	refEntryCost  = 4 * (1 + objects.IDSize + 32)
)

// chunkUpdates splits updates into groups that each fit one transaction.
func chunkUpdates(updates []objects.RefUpdate) [][]objects.RefUpdate {
	var chunks [][]objects.RefUpdate
	start, size := 0, 0
	for i, u := range updates {
		cost := 2*len(u.Name) + refEntryCost
		if (size+cost > refChunkBytes || i-start == refChunkCount) && i > start {
			chunks = append(chunks, updates[start:i])
			start, size = i, 0
		}
		size += cost
	}
	return append(chunks, updates[start:])
}

func journalKey(n uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{journalPrefix}, n)
}

// encodeChunk writes updates as uvarint(len(name)) name flag [ID], where
// flag 1 sets the ref to ID and flag 0 deletes it.
func encodeChunk(updates []objects.RefUpdate) []byte {
	var out []byte
	for _, u := range updates {
		out = binary.AppendUvarint(out, uint64(len(u.Name)))
		out = append(out, u.Name...)
		if u.New.IsZero() {
			out = append(out, 0)
		} else {
			out = append(append(out, 1), u.New[:]...)
		}
	}
	return out
}

func decodeChunk(data []byte) ([]objects.RefUpdate, error) {
	bad := fmt.Errorf("%w: a damaged ref journal", objects.ErrCorrupt)
	var out []objects.RefUpdate
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		if k <= 0 || k != len(binary.AppendUvarint(nil, n)) || n > uint64(len(data)-k) || n == 0 {
			return nil, bad
		}
		u := objects.RefUpdate{Name: string(data[k : k+int(n)])}
		data = data[k+int(n):]
		if len(data) == 0 || data[0] > 1 {
			return nil, bad
		}
		if data[0] == 1 {
			if len(data) < 1+objects.IDSize {
				return nil, bad
			}
			copy(u.New[:], data[1:])
			data = data[objects.IDSize:]
		}
		data = data[1:]
		out = append(out, u)
	}
	return out, nil
}

// updateManyRefs is UpdateRefs for updates that do not fit one
// transaction.
func (s *Store) updateManyRefs(ctx context.Context, updates []objects.RefUpdate) error {
	s.refsMu.Lock()
	defer s.refsMu.Unlock()
	err := s.db.View(func(txn *badger.Txn) error { return checkRefs(txn, updates) })
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.writeJournal(updates); err != nil {
		return err
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(journalDone), nil) }); err != nil {
		return fmt.Errorf("badgerstore: update refs: %w", err)
	}
	moved, err := s.finishJournal()
	if err == nil {
		s.refsMoved(moved)
		err = s.syncFailed.err()
	}
	return err
}

// writeJournal writes the journal chunks of an update, undecided, in one
// batch: they need to be durable before the decision, not atomic.
func (s *Store) writeJournal(updates []objects.RefUpdate) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for i, chunk := range chunkUpdates(updates) {
		if err := wb.Set(journalKey(uint64(i)), encodeChunk(chunk)); err != nil {
			return fmt.Errorf("badgerstore: update refs: journal: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("badgerstore: update refs: journal: %w", err)
	}
	return nil
}

// finishJournal applies a decided journal, or drops one never decided
// (a crash cut its writing short), chunk by chunk, and reports whether a
// branch moved. It is safe to run again after a crash at any point.
func (s *Store) finishJournal() (moved bool, err error) {
	var decided bool
	var chunks [][]byte
	err = s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get([]byte(journalDone))
		switch {
		case err == nil:
			decided = true
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		prefix := []byte{journalPrefix}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			chunks = append(chunks, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("badgerstore: ref journal: %w", err)
	}
	// Each chunk is applied and deleted in its own transaction, one after
	// the other: each takes the change feed's next sequence numbers.
	for _, key := range chunks {
		err := s.db.Update(func(txn *badger.Txn) error {
			m, err := s.applyChunk(txn, key, decided)
			moved = moved || m
			return err
		})
		if err != nil {
			return false, fmt.Errorf("badgerstore: ref journal: %w", err)
		}
	}
	if !decided {
		return false, nil
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(journalDone)) }); err != nil {
		return false, fmt.Errorf("badgerstore: ref journal: %w", err)
	}
	return moved, nil
}

// applyChunk applies one journal chunk if the journal is decided, and
// deletes it. The refs are still at the values the update replaces (a
// chunk goes in the transaction that applies it), so it moves them from
// there through writeRefs, recording what every ref move records.
func (s *Store) applyChunk(txn *badger.Txn, key []byte, decided bool) (moved bool, err error) {
	if decided {
		item, err := txn.Get(key)
		if err != nil {
			return false, err
		}
		data, err := item.ValueCopy(nil)
		if err != nil {
			return false, err
		}
		updates, err := decodeChunk(data)
		if err != nil {
			return false, err
		}
		for i, u := range updates {
			if updates[i].Old, err = readRef(txn, u.Name); err != nil {
				return false, err
			}
		}
		if moved, err = s.writeRefs(txn, updates); err != nil {
			return false, err
		}
	}
	return moved, txn.Delete(key)
}
