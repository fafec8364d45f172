package badgerstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// Garbage collection support: write times as Badger versions, time marks
// that translate a wall-clock time into a version, retired ref values, and
// version-checked deletes. doc.go states the rule; repo/gc.go marks.

const (
	// markEvery is how often UpdateRefs leaves a time mark: the grace
	// period is measured in these steps, rounded towards keeping more.
	markEvery = time.Hour
	// markRetention is how long time marks are kept: a gc can honour a
	// grace period up to this long (a longer one deletes nothing older).
	markRetention = 90 * 24 * time.Hour
	// sweepBatch is how many deletes go in one transaction.
	sweepBatch = 1024
)

func markKey(unix int64) []byte {
	k := make([]byte, 9)
	k[0] = markPrefix
	binary.BigEndian.PutUint64(k[1:], uint64(unix))
	return k
}

func retiredKey(id objects.ID) []byte {
	k := make([]byte, 1+objects.IDSize)
	k[0] = retiredPrefix
	copy(k[1:], id[:])
	return k
}

// lastMarkIn returns the time and version of the newest time mark at or
// before unix (math.MaxInt64: the newest of all); ok is false if there is none.
func lastMarkIn(txn *badger.Txn, unix int64) (at int64, version uint64, ok bool) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{markPrefix}, Reverse: true})
	defer it.Close()
	seek := append(markKey(unix), 0xff)
	it.Seek(seek)
	if !it.ValidForPrefix([]byte{markPrefix}) {
		return 0, 0, false
	}
	item := it.Item()
	k := item.Key()
	if len(k) != 9 {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(k[1:])), item.Version(), true
}

// retire is called inside UpdateRefs' transaction: the values refs leave
// are recorded (the record's version says when), so that what they reached
// stays for the grace period, and a time mark is added once per markEvery.
func (s *Store) retire(txn *badger.Txn, updates []objects.RefUpdate) error {
	for _, u := range updates {
		if !u.Old.IsZero() && u.Old != u.New {
			if err := txn.Set(retiredKey(u.Old), nil); err != nil {
				return err
			}
		}
	}
	now := time.Now().Unix()
	last := s.lastMark.Load()
	if last == 0 {
		at, _, ok := lastMarkIn(txn, 1<<62)
		if !ok {
			at = 1 // none yet: mark now
		}
		last = at
		s.lastMark.Store(at)
	}
	if now < last+int64(markEvery/time.Second) {
		return nil
	}
	s.markPending.Store(now)
	return txn.Set(markKey(now), nil)
}

// markWritten records the time mark of a committed UpdateRefs.
func (s *Store) markWritten() {
	if at := s.markPending.Swap(0); at != 0 {
		s.lastMark.Store(at)
	}
}

// Collection is one garbage collection: everything written (put, or
// retired from a ref) at or below Cutoff's version is old.
type Collection struct {
	s      *Store
	cutoff uint64
	// Cutoff is the time the cutoff version stands for: a time mark at or
	// before the requested prune time (zero: no mark is that old, and
	// nothing is old).
	Cutoff time.Time
	pins   collectionPins // pin.go, under s.pins.mu
}

// BeginCollection starts a collection of what was last written more than
// grace ago. A grace of zero makes everything committed before the call
// old; a longer one uses the newest time mark at least that old (none:
// nothing is old). Unless dryRun, it leaves a time mark for later
// collections, and the collection takes pins (pin.go) until Sweep or End
// ends it.
func (s *Store) BeginCollection(ctx context.Context, grace time.Duration, dryRun bool) (*Collection, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if !dryRun {
		if err := s.checkWritable(); err != nil {
			return nil, err
		}
		if err := s.writeMark(time.Now().Unix()); err != nil {
			return nil, err
		}
	}
	c := &Collection{s: s}
	if !dryRun {
		s.beginPins(c)
	}
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	if grace <= 0 {
		c.cutoff, c.Cutoff = txn.ReadTs(), time.Now()
		return c, nil
	}
	prune := time.Now().Add(-grace).Unix()
	if at, v, ok := lastMarkIn(txn, prune); ok && prune > 0 {
		c.cutoff, c.Cutoff = v, time.Unix(at, 0)
	}
	return c, nil
}

// writeMark adds a time mark unless the newest one is not older (a clock
// set back writes none: marks only ever keep more).
func (s *Store) writeMark(now int64) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		if at, _, ok := lastMarkIn(txn, 1<<62); ok && at >= now {
			return nil
		}
		return txn.Set(markKey(now), nil)
	})
	if err != nil && !errors.Is(err, badger.ErrConflict) {
		return fmt.Errorf("badgerstore: time mark: %w", err)
	}
	return nil
}

// Retired calls fn with every ref value retired after the cutoff: roots
// for the grace period.
func (c *Collection) Retired(ctx context.Context, fn func(id objects.ID) error) error {
	return c.s.db.View(func(txn *badger.Txn) error {
		return eachItem(ctx, txn, []byte{retiredPrefix}, func(item *badger.Item) error {
			if item.Version() <= c.cutoff || len(item.Key()) != 1+objects.IDSize {
				return nil
			}
			return fn(objects.ID(item.Key()[1:]))
		})
	})
}

// ObjectInfo is what a collection's walk tells about one object.
type ObjectInfo struct {
	ID    objects.ID
	Size  int64
	Young bool // written after the cutoff
}

// Objects calls fn for every stored object in ID order, from one snapshot.
// read returns the object's bytes, valid during the call; a value kept in
// the value log is read only if asked for.
func (c *Collection) Objects(ctx context.Context, fn func(o ObjectInfo, read func() ([]byte, error)) error) error {
	return c.s.db.View(func(txn *badger.Txn) error {
		return eachItem(ctx, txn, []byte{objectPrefix}, func(item *badger.Item) error {
			id, err := idFromObjectKey(item.Key())
			if err != nil {
				return err
			}
			var data []byte
			read := func() ([]byte, error) {
				if data == nil {
					if err := item.Value(func(v []byte) error { data = v; return nil }); err != nil {
						return nil, err
					}
				}
				return data, nil
			}
			return fn(ObjectInfo{ID: id, Size: item.ValueSize(), Young: item.Version() > c.cutoff}, read)
		})
	})
}

// ReadSorted reads objects by ID, ids in ascending order, from one
// snapshot with one iterator: it steps on to the next ID when it is near
// and seeks only when it is not, so reading many objects in the store's
// order decompresses each block about once, where one Get each would
// decompress a block per object. fn gets each object's checked bytes,
// valid during the call, or the error reading it (wrapping
// objects.ErrNotFound or objects.ErrDamaged), as Get's.
func (c *Collection) ReadSorted(ctx context.Context, ids []objects.ID, fn func(objects.ID, []byte, error) error) error {
	if len(ids) == 0 {
		return nil
	}
	return c.s.db.View(func(txn *badger.Txn) error {
		prefix := []byte{objectPrefix}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		it.Seek(objectKey(ids[0]))
		for i, id := range ids {
			if i%cancelCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			key := objectKey(id)
			for step := 0; it.ValidForPrefix(prefix) && bytes.Compare(it.Item().Key(), key) < 0; step++ {
				if step == readAheadKeys {
					it.Seek(key)
					break
				}
				it.Next()
			}
			if !it.ValidForPrefix(prefix) || !bytes.Equal(it.Item().Key(), key) {
				if err := fn(id, nil, fmt.Errorf("badgerstore: object %s: %w", id.Short(), objects.ErrNotFound)); err != nil {
					return err
				}
				continue
			}
			err := it.Item().Value(func(data []byte) error {
				return fn(id, data, objects.CheckStored(id, data))
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// readAheadKeys is how many keys ReadSorted steps over before it seeks:
// a few blocks' worth.
const readAheadKeys = 64

// SweepStats counts what a sweep deleted (or, dry, would delete).
type SweepStats struct {
	Objects int
	Bytes   int64
}

// Sweep deletes every object that is old and not kept, calling found for
// each as it goes into a delete batch. Each delete re-reads the object in
// its transaction and skips it if it was written again (freshened) since
// the cutoff; a Put committed between that read and the delete makes the
// transaction conflict, and the batch is read again. With dryRun nothing
// is deleted, and found sees the objects in ID order. A sweep also drops
// retired ref values older than the cutoff and time marks past
// markRetention. Objects pinned (pin.go) are kept too, with all they
// reach. The sweep ends the collection.
//
// It deletes in objects.ReferenceRank order (sweeporder.go), a batch of
// sweepBatch objects to a transaction: no object goes in a batch before
// that of an object it deletes that references it. So a sweep cut short
// (an error, a crash) leaves every object it did not delete with its
// whole closure, as before it began.
func (c *Collection) Sweep(ctx context.Context, keep func(objects.ID) bool, dryRun bool, found func(ObjectInfo)) (SweepStats, error) {
	if dryRun {
		return c.countOld(ctx, keep, found)
	}
	defer c.End()
	if err := c.s.checkWritable(); err != nil {
		return SweepStats{}, err
	}
	if err := c.startSweep(ctx, keep); err != nil {
		return SweepStats{}, err
	}
	order, err := c.deleteOrder(ctx, keep)
	if err != nil {
		return SweepStats{}, err
	}
	defer order.close()
	d := &sweeper{c: c, found: found}
	err = d.deleteInOrder(ctx, order)
	if err == nil {
		err = d.flush(ctx)
	}
	if err != nil {
		return d.st, err
	}
	return d.st, c.dropExpired(ctx)
}

// countOld is a dry run's sweep: it counts what a sweep would delete.
func (c *Collection) countOld(ctx context.Context, keep func(objects.ID) bool, found func(ObjectInfo)) (SweepStats, error) {
	var st SweepStats
	err := c.Objects(ctx, func(o ObjectInfo, _ func() ([]byte, error)) error {
		if o.Young || keep(o.ID) {
			return nil
		}
		if found != nil {
			found(o)
		}
		st.Objects++
		st.Bytes += o.Size
		return nil
	})
	return st, err
}

// deleteOrder returns the objects to delete in the order to delete them:
// one walk reads the header of each (most are in the LSM tree, whose
// blocks the walk reads anyway; the first bytes of one in the value log).
func (c *Collection) deleteOrder(ctx context.Context, keep func(objects.ID) bool) (*entryMerger, error) {
	s := newEntrySorter(c.s.dir)
	defer s.close()
	err := c.Objects(ctx, func(o ObjectInfo, read func() ([]byte, error)) error {
		if o.Young || keep(o.ID) || c.pinned(o.ID) {
			return nil
		}
		var rank uint64 // unreadable: first, it names nothing to keep
		if data, err := read(); err == nil {
			rank = objects.ReferenceRank(data)
		}
		return s.add(sweepEntry{rank: rank, id: o.ID, size: o.Size})
	})
	if err != nil {
		return nil, err
	}
	return s.sorted()
}

// deleteOld deletes the keys whose newest version is still old, in one
// transaction, retried when a concurrent write conflicts with it.
func (c *Collection) deleteOld(ctx context.Context, keys [][]byte) (int, int64, error) {
	if err := c.s.checkWritable(); err != nil {
		return 0, 0, err
	}
	for range maxConflictRetries {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		var n int
		var size int64
		err := c.s.db.Update(func(txn *badger.Txn) error {
			n, size = 0, 0
			for _, k := range keys {
				item, err := txn.Get(k)
				if errors.Is(err, badger.ErrKeyNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				if item.Version() > c.cutoff {
					continue // freshened by a Put since the walk
				}
				n++
				size += item.ValueSize()
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			pending, err := pendingBytes(txn)
			if err != nil {
				return err
			}
			return setPendingBytes(txn, pending+uint64(size))
		})
		if errors.Is(err, badger.ErrConflict) {
			continue
		}
		if err != nil {
			return 0, 0, fmt.Errorf("badgerstore: delete: %w", err)
		}
		if n > 0 {
			c.s.recent.Forget() // what it kept of them, and what was read before
		}
		return n, size, nil
	}
	return 0, 0, fmt.Errorf("badgerstore: delete: objects kept being written during the sweep")
}

// dropExpired deletes retired ref values older than the cutoff, time
// marks older than markRetention (keeping the newest of those), and the
// keys of quarantines discarded without them (quarantine.go).
func (c *Collection) dropExpired(ctx context.Context) error {
	if err := c.s.dropAbandonedQuarantines(ctx); err != nil {
		return err
	}
	var keys [][]byte
	horizon := time.Now().Add(-markRetention).Unix()
	err := c.s.db.View(func(txn *badger.Txn) error {
		_, keepMark, _ := lastMarkIn(txn, horizon)
		for _, p := range []byte{retiredPrefix, markPrefix} {
			err := eachItem(ctx, txn, []byte{p}, func(item *badger.Item) error {
				if p == retiredPrefix && item.Version() <= c.cutoff || p == markPrefix && item.Version() < keepMark {
					keys = append(keys, item.KeyCopy(nil))
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	for len(keys) > 0 && err == nil {
		n := min(len(keys), sweepBatch)
		_, _, err = c.deleteOld(ctx, keys[:n])
		keys = keys[n:]
	}
	return err
}

// EstimateObjects is an upper bound on the objects stored (every version
// and deletion in the tables counts), for sizing a mark set.
func (s *Store) EstimateObjects() int {
	n := 0
	for _, t := range s.db.Tables() {
		if len(t.Left) > 0 && t.Left[0] <= objectPrefix && len(t.Right) > 0 && t.Right[0] >= objectPrefix {
			n += int(t.KeyCount)
		}
	}
	return n + memTableSize/256 // what the memtables may hold
}

// flushKey is written and dropped to make Badger flush its memtables.
var flushKey = []byte{flushPrefix}

// rewriteAt: Reclaim rewrites the tables once the bytes deleted since the
// last rewrite reach 1/rewriteAt of the live bytes. Keys are hashes, so
// every table overlaps every level and dropping deletions means rewriting
// the whole store; below this share the deleted bytes wait (the store
// then holds at most 1/8 more than its live objects).
const rewriteAt = 8

// pendingBytes reads the bytes deleted since the last rewrite.
func pendingBytes(txn *badger.Txn) (uint64, error) {
	item, err := txn.Get([]byte(pendingKey))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n uint64
	err = item.Value(func(v []byte) error {
		if len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return n, err
}

func setPendingBytes(txn *badger.Txn, n uint64) error {
	return txn.Set([]byte(pendingKey), binary.BigEndian.AppendUint64(nil, n))
}

// Reclaim gives the space of deleted objects back to the file system once
// they are worth it (rewriteAt, given the live bytes): it pushes every
// table down to one level, where deletions meet what they delete and both
// go. It then collects the value log until a pass frees nothing. With
// exclusive (no other goroutine uses the store: the gc command) it first
// flushes the memtables, which briefly refuses writes.
func (s *Store) Reclaim(ctx context.Context, exclusive bool, liveBytes int64) error {
	if err := s.checkWritable(); err != nil {
		return err
	}
	var pending uint64
	if err := s.db.View(func(txn *badger.Txn) (err error) { pending, err = pendingBytes(txn); return err }); err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	if pending*rewriteAt >= uint64(max(liveBytes, 1)) {
		if err := s.rewrite(ctx, exclusive); err != nil {
			return err
		}
	}
	for ctx.Err() == nil {
		err := s.db.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("badgerstore: value log gc: %w", err)
		}
	}
	return ctx.Err()
}

func (s *Store) rewrite(ctx context.Context, exclusive bool) error {
	if exclusive {
		err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(flushKey, nil) })
		if err == nil {
			err = s.db.DropPrefix(flushKey)
		}
		if err != nil {
			return fmt.Errorf("badgerstore: flush: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.flatten(); err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	err := s.db.Update(func(txn *badger.Txn) error { return setPendingBytes(txn, 0) })
	if err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	return nil
}
