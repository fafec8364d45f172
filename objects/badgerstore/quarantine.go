package badgerstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// Quarantine implements objects.Quarantiner. A quarantine keeps what it
// is given in memory while all the store's quarantines together hold less
// than quarantineMemory (so a push or fetch of usual size costs no more
// writes than before quarantines existed); past that, what comes next
// waits in the store's own database, under keys that no reader of objects
// looks at:
//
//	"q" + quarantine number + 1 + seq  -> the ID and encoded object put seq-th
//	"q" + quarantine number + 0 + ID   -> its seq
//
// (so that promoting reads the objects in the order of their keys).
// Either way the arrival order is kept, which is the pack's dependency
// order, so objects are promoted referenced before referencing. A process
// that dies with quarantines open leaves their keys behind; the next
// read-write Open drops them (only one process writes a store). A Discard
// that cannot write leaves them too; the next collection (Sweep) drops
// the keys of every quarantine no longer open.
func (s *Store) Quarantine(ctx context.Context) (objects.Quarantine, error) {
	if err := s.checkWritable(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.quarantineMu.Lock()
	defer s.quarantineMu.Unlock()
	s.quarantines++
	if s.openQuarantines == nil {
		s.openQuarantines = map[uint64]struct{}{}
	}
	s.openQuarantines[s.quarantines] = struct{}{}
	q := &quarantine{s: s, number: s.quarantines, mem: map[objects.ID][]byte{}}
	q.seeSweeps()
	return q, nil
}

// abandonedQuarantines lists, from one pass over the quarantine keys, the
// numbers of quarantines discarded whose keys are still there: a Discard
// that could not write (a full disk when the transfer was cut). A number
// is read as open or discarded before the keys are: quarantines opened
// since have larger numbers, and a discarded one never writes again.
func (s *Store) abandonedQuarantines(ctx context.Context) ([]uint64, error) {
	s.quarantineMu.Lock()
	last, open := s.quarantines, maps.Clone(s.openQuarantines)
	s.quarantineMu.Unlock()
	var found []uint64
	err := s.db.View(func(txn *badger.Txn) error {
		return eachItem(ctx, txn, []byte{quarantinePrefix}, func(item *badger.Item) error {
			k := item.Key()
			if len(k) < 1+8 {
				return nil
			}
			n := binary.BigEndian.Uint64(k[1:])
			if _, ok := open[n]; !ok && n <= last && (len(found) == 0 || found[len(found)-1] != n) {
				found = append(found, n)
			}
			return nil
		})
	})
	return found, err
}

// dropAbandonedQuarantines deletes the keys abandonedQuarantines finds.
func (s *Store) dropAbandonedQuarantines(ctx context.Context) error {
	numbers, err := s.abandonedQuarantines(ctx)
	for _, n := range numbers {
		if err != nil {
			break
		}
		err = s.deletePrefix(quarantineNumberPrefix(n))
	}
	return err
}

func quarantineNumberPrefix(number uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{quarantinePrefix}, number)
}

// quarantineMemory bounds the bytes the quarantines of one store keep in
// memory, together (Store.quarantineMemory, which tests lower).
const quarantineMemory = 64 << 20

type quarantine struct {
	s      *Store
	number uint64

	mu       sync.Mutex
	mem      map[objects.ID][]byte // the first objects, in memory
	memOrder []objects.ID
	memBytes int64
	spilled  bool   // later objects are in the database
	seq      uint64 // of the objects in the database

	// pins are the ref values the transfer is about to set (pin.go, under
	// s.pins.mu); sweepsSeen the sweeps that had ended when q began.
	pins       []objects.ID
	sweepsSeen uint64
}

func (q *quarantine) prefix(kind byte) []byte {
	return append(quarantineNumberPrefix(q.number), kind)
}

func (q *quarantine) dataKey(id objects.ID) []byte { return append(q.prefix(0), id[:]...) }

func (q *quarantine) orderKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(q.prefix(1), seq)
}

// lookup finds an object in memory, and says whether to look in the
// database next.
func (q *quarantine) lookup(id objects.ID) (data []byte, found, spilled bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	data, found = q.mem[id]
	return data, found, q.spilled
}

// Get implements objects.ObjectReader: the quarantine's objects, then
// the store's.
func (q *quarantine) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	if data, found, err := q.own(ctx, id); found || err != nil {
		return data, err
	}
	return q.s.Get(ctx, id)
}

// own reads an object of the quarantine, not of the store; found says
// whether it holds it. What it returns is the caller's.
func (q *quarantine) own(ctx context.Context, id objects.ID) (data []byte, found bool, err error) {
	data, found, spilled := q.lookup(id)
	if found {
		return bytes.Clone(data), true, nil
	}
	if !spilled {
		return nil, false, nil
	}
	seq, err := q.s.get(ctx, q.dataKey(id), id)
	if errors.Is(err, objects.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if len(seq) == 8 {
		data, err := q.s.get(ctx, q.orderKey(binary.BigEndian.Uint64(seq)), id)
		if err == nil && len(data) > objects.IDSize {
			if err := objects.CheckStored(id, data[objects.IDSize:]); err != nil {
				return nil, true, err
			}
			return data[objects.IDSize:], true, nil
		}
	}
	return nil, true, fmt.Errorf("%w: quarantine entry of %s", objects.ErrCorrupt, id.Short())
}

// Has implements objects.ObjectReader.
func (q *quarantine) Has(ctx context.Context, id objects.ID) (bool, error) {
	_, found, spilled := q.lookup(id)
	if found {
		return true, nil
	}
	if spilled {
		if ok, err := q.s.has(ctx, q.dataKey(id), id); ok || err != nil {
			return ok, err
		}
	}
	return q.s.Has(ctx, id)
}

// Put stores objects in the quarantine: in memory while the budget lasts,
// then in the database, synced like Store.Put (which checks the free
// space; Promote checks it for what waits in memory). What it keeps in
// memory is a copy: the caller may reuse the bytes.
func (q *quarantine) Put(ctx context.Context, objs ...objects.Object) error {
	return q.put(ctx, objs, bytes.Clone)
}

// Adopt is Put for objects whose bytes the caller hands over and never
// changes again: what it keeps in memory is those bytes, not a copy. A
// chain of commits adopts what it encodes (repo.Chain): copying every
// node, commit and document it writes was more than a quarter of what
// building a chain allocated.
func (q *quarantine) Adopt(ctx context.Context, objs ...objects.Object) error {
	return q.put(ctx, objs, func(data []byte) []byte { return data })
}

// put is Put and Adopt; keep makes the bytes kept in memory.
func (q *quarantine) put(ctx context.Context, objs []objects.Object, keep func([]byte) []byte) error {
	if err := q.s.checkWritable(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(objs) > 0 && !q.spilled {
		o := objs[0]
		if len(o.Data) > MaxObjectSize {
			break // write refuses it
		}
		if _, ok := q.mem[o.ID]; !ok {
			n := int64(len(o.Data))
			if q.s.quarantineBytes.Add(n) > q.s.quarantineMemory {
				q.s.quarantineBytes.Add(-n)
				q.spilled = true
				break
			}
			q.mem[o.ID] = keep(o.Data)
			q.memOrder = append(q.memOrder, o.ID)
			q.memBytes += n
		}
		objs = objs[1:]
	}
	if len(objs) == 0 {
		return ctx.Err()
	}
	q.spilled = true
	return q.s.write(ctx, objs, func(wb *badger.WriteBatch, o objects.Object) error {
		q.seq++
		if err := wb.Set(q.orderKey(q.seq), append(o.ID[:], o.Data...)); err != nil {
			return err
		}
		return wb.Set(q.dataKey(o.ID), binary.BigEndian.AppendUint64(nil, q.seq))
	})
}

// Promote implements objects.Quarantine. Objects that fit in one Badger
// transaction move in it together with the refs, so a push of a few
// megabytes is one synced write; more (a clone) go first through a
// WriteBatch, and the refs then move alone.
//
// Pins stay until Discard: the caller may move refs after Promote (a
// converging push merges first).
func (q *quarantine) Promote(ctx context.Context, keep func(objects.ID) bool, updates ...objects.RefUpdate) error {
	defer q.drop()
	if err := objects.CheckRefUpdates(updates); err != nil {
		return err
	}
	if err := q.s.checkWritable(); err != nil {
		return err
	}
	q.mu.Lock()
	inMemory := q.memBytes
	q.mu.Unlock()
	if err := q.s.checkSpace(inMemory); err != nil {
		return err
	}
	err := q.s.db.View(func(txn *badger.Txn) error { return checkRefs(txn, updates) })
	if err != nil {
		return err
	}
	epoch := q.s.recent.Epoch()
	txn := q.s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	var last []objects.Object // the objects of txn, for a retry
	err = q.each(ctx, keep, func(o objects.Object) error {
		if err := txn.Set(objectKey(o.ID), o.Data); err != nil {
			return err
		}
		last = append(last, o)
		return nil
	})
	if errors.Is(err, badger.ErrTxnTooBig) {
		// More than one transaction holds (a clone): the objects go
		// first through a WriteBatch, whose transactions Badger writes
		// and syncs in groups, where committing them one by one waited
		// for a sync each; then the refs alone. A crash between the two
		// leaves checked objects that no ref names, for gc.
		txn.Discard()
		txn, last = q.s.db.NewTransaction(true), nil
		err = q.promoteBatched(ctx, keep)
	}
	if err != nil {
		return fmt.Errorf("badgerstore: promote: %w", err)
	}
	for _, o := range last {
		q.s.written.Add(int64(len(o.Data)))
	}
	s := q.s
	if len(chunkUpdates(updates)) > 1 {
		// More refs than one transaction holds (a fetch of thousands of
		// tags): the objects first, then the refs all or none through the
		// journal of UpdateRefs. Refused there, the objects stay unnamed
		// until gc collects them.
		if err := txn.Commit(); err != nil {
			return fmt.Errorf("badgerstore: promote: %w", err)
		}
		return s.UpdateRefs(ctx, updates...)
	}
	s.refsMu.RLock() // an update of many refs (bigrefs.go) holds off this one
	defer s.refsMu.RUnlock()
	moved := false
	for try := range maxConflictRetries {
		backOff(try)
		moved, err = s.writeRefs(txn, updates)
		if err == nil {
			err = txn.Commit()
		}
		if !errors.Is(err, badger.ErrConflict) {
			break
		}
		// A ref read here moved since the transaction began: again, on
		// what it holds now.
		txn.Discard()
		txn = q.s.db.NewTransaction(true)
		for _, o := range last {
			if err := txn.Set(objectKey(o.ID), o.Data); err != nil {
				return fmt.Errorf("badgerstore: promote: %w", err)
			}
		}
	}
	switch {
	case errors.Is(err, objects.ErrRefChanged):
		return err
	case errors.Is(err, badger.ErrConflict):
		return fmt.Errorf("%w: refs kept changing during the update", objects.ErrRefChanged)
	case err != nil:
		return fmt.Errorf("badgerstore: promote: %w", err)
	}
	s.refsMoved(moved)
	if err := s.syncFailed.err(); err != nil {
		return err // this commit's sync may be the one that failed
	}
	for _, o := range last {
		s.recent.Add(epoch, o.ID, o.Data) // bytes the quarantine kept or copied, changed by no one
	}
	return nil
}

// promoteBatched writes the objects keep accepts through one WriteBatch.
func (q *quarantine) promoteBatched(ctx context.Context, keep func(objects.ID) bool) error {
	wb := q.s.db.NewWriteBatch()
	defer wb.Cancel()
	err := q.each(ctx, keep, func(o objects.Object) error {
		q.s.written.Add(int64(len(o.Data)))
		return wb.Set(objectKey(o.ID), o.Data)
	})
	if err != nil {
		return err
	}
	return wb.Flush()
}

// each calls fn with the quarantined objects keep accepts, in arrival
// order: those in memory, then those in the database.
func (q *quarantine) each(ctx context.Context, keep func(objects.ID) bool, fn func(objects.Object) error) error {
	q.mu.Lock()
	order, mem, spilled := q.memOrder, q.mem, q.spilled
	q.mu.Unlock()
	for i, id := range order {
		if i%cancelCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if keep(id) {
			if err := fn(objects.Object{ID: id, Data: mem[id]}); err != nil {
				return err
			}
		}
	}
	if !spilled {
		return nil
	}
	return q.s.db.View(func(txn *badger.Txn) error {
		prefix := q.prefix(1)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		n := 0
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if n++; n%cancelCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if len(v) <= objects.IDSize {
				return fmt.Errorf("%w: quarantine entry of %d bytes", objects.ErrCorrupt, len(v))
			}
			id, data := objects.ID(v[:objects.IDSize]), v[objects.IDSize:]
			if !keep(id) {
				continue
			}
			if err := fn(objects.Object{ID: id, Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Discard implements objects.Quarantine. It also releases q's pins.
func (q *quarantine) Discard() error {
	q.unpin()
	return q.drop()
}

// drop drops what q holds.
func (q *quarantine) drop() error {
	q.mu.Lock()
	q.s.quarantineBytes.Add(-q.memBytes)
	q.mem, q.memOrder, q.memBytes = map[objects.ID][]byte{}, nil, 0
	spilled := q.spilled
	q.spilled = false
	q.mu.Unlock()
	q.s.quarantineMu.Lock()
	delete(q.s.openQuarantines, q.number) // from now on a collection may drop its keys
	q.s.quarantineMu.Unlock()
	if !spilled {
		return nil
	}
	if err := q.s.checkWritable(); err != nil {
		return err
	}
	return q.s.deletePrefix(quarantineNumberPrefix(q.number))
}

// deletePrefix deletes every key that starts with prefix. With none (a
// store opened with no quarantine left behind) it writes nothing.
func (s *Store) deletePrefix(prefix []byte) error {
	var wb *badger.WriteBatch
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if wb == nil {
				wb = s.db.NewWriteBatch()
			}
			if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
				return err
			}
		}
		return nil
	})
	if wb != nil {
		defer wb.Cancel()
		if err == nil {
			err = wb.Flush()
		}
	}
	if err != nil {
		return fmt.Errorf("badgerstore: drop quarantine: %w", err)
	}
	return nil
}

// checkRefs checks that every ref is at its Old value.
func checkRefs(txn *badger.Txn, updates []objects.RefUpdate) error {
	for _, u := range updates {
		cur, err := readRef(txn, u.Name)
		if err != nil {
			return err
		}
		if cur != u.Old {
			return objects.RefChangedError(u, cur)
		}
	}
	return nil
}
