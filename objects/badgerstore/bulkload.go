package badgerstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/folio-db/folio/objects"
)

// A bulk load (objects.BulkLoad) writes a new store's objects with
// Badger's StreamWriter: sorted keys go straight into tables of the
// bottom level, with no write-ahead log, memtable, level 0 or compaction
// on the way. A clone of 100,000 documents spent most of its CPU there.
//
// The StreamWriter takes keys in order only. A clone's pack sends its
// blobs in ID order (the bulk of it), then nodes and commits in
// dependency order; so objects that come after the last one streamed go
// straight to the stream ("main"), and the others ("rest") wait, sorted
// in memory up to loadRestMemory and in sorted runs in a temporary file
// past it. Finish writes the rest, merged from those runs, as a second,
// incremental stream into the level above the main one.

const (
	// loadBufferBytes is how much a load hands the StreamWriter at once.
	loadBufferBytes = 8 << 20
	// loadRestMemory bounds the out-of-order objects a load keeps in
	// memory; past it they go to a temporary file in sorted runs.
	loadRestMemory = 32 << 20
	// loadMaxKeys bounds the keys other than objects a store may hold when
	// a load starts (a new store holds its format record): Prepare drops
	// everything, and they are written back on Finish.
	loadMaxKeys = 1024
	// loadVersion is the version of every key a load writes: there is one
	// of each key, and later transactions get later versions.
	loadVersion = 1
	// Stream numbers of the main stream and of the rest.
	mainStream = 1
	restStream = 2
)

// loadTableSize is the size of the tables a bulk load writes. Badger's
// StreamWriter makes tables of the bottom level's size, BaseTableSize
// times TableSizeMultiplier (2) for each level but the first two: 64 MiB
// by default, and its table builder holds twice that in memory, cleared
// on allocation. A load (only ever into a new store) takes smaller ones.
const loadTableSize = 8 << 20

// newStoreSession sets the options of the session that creates a store,
// the only one that may bulk load it: tables of loadTableSize at the
// bottom level. Later sessions open it with the usual options. Tables
// keep that size at every level (a multiplier of 1), rather than growing
// to it from loadTableSize >> 5 = 256 KiB at the base level: the session
// may go on writing (a program that creates a repository and serves it),
// and Badger's table builder allocates and clears a 3 MiB index buffer
// for every table it makes, whatever its size.
func newStoreSession(bopts badger.Options) badger.Options {
	bopts = bopts.WithBaseTableSize(loadTableSize)
	bopts.TableSizeMultiplier = 1 // Badger has no With for it
	return bopts
}

// ErrNotEmpty: a bulk load into a store that holds objects.
var ErrNotEmpty = errors.New("badgerstore: a bulk load needs a store without objects")

// bulkLoad is an objects.BulkLoad.
type bulkLoad struct {
	s     *Store
	saved []savedKey // keys other than objects, written back on Finish

	mu     sync.Mutex
	sw     *badger.StreamWriter
	buf    *z.Buffer // for the main stream, not yet written
	last   []byte    // the last key of the main stream (nil: none yet)
	rest   []objects.Object
	restSz int
	// restMemory is loadRestMemory (tests make it smaller).
	restMemory int
	runs       []loadRun // spilled sorted runs of the rest
	spill      *os.File
	spillN     int64
	done       bool
	// leaf: a leaf load (leafload.go), every object kept for one stream.
	leaf bool
	// bufBytes is how much the load hands the StreamWriter at once.
	bufBytes int
}

type savedKey struct{ key, value []byte }

// loadRun is a sorted run of objects in the load's temporary file.
type loadRun struct {
	off, size int64
}

var _ objects.BulkLoader = (*Store)(nil)

// BulkLoad implements objects.BulkLoader. The store must hold no objects;
// until Finish returns it takes no other writes.
func (s *Store) BulkLoad(ctx context.Context) (objects.BulkLoad, error) {
	if err := s.checkWritable(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	saved, err := s.savedForLoad()
	if err != nil {
		return nil, err
	}
	l := &bulkLoad{s: s, saved: saved, sw: s.db.NewStreamWriter(),
		buf: newLoadBuffer(loadBufferBytes), bufBytes: loadBufferBytes, restMemory: loadRestMemory}
	if !s.loading.CompareAndSwap(nil, l) {
		l.buf.Release()
		return nil, errors.New("badgerstore: a bulk load is under way")
	}
	if err := l.sw.Prepare(); err != nil {
		l.Discard()
		return nil, fmt.Errorf("badgerstore: bulk load: %w", err)
	}
	return l, nil
}

// savedForLoad reads the keys a load must write back, and refuses a
// store that holds objects or more than loadMaxKeys keys.
func (s *Store) savedForLoad() ([]savedKey, error) {
	var saved []savedKey
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if k := item.Key(); len(k) > 0 && k[0] == objectPrefix {
				return ErrNotEmpty
			}
			if len(saved) == loadMaxKeys {
				return fmt.Errorf("%w: it holds more than %d keys", ErrNotEmpty, loadMaxKeys)
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			saved = append(saved, savedKey{key: item.KeyCopy(nil), value: v})
		}
		return nil
	})
	return saved, err
}

func newLoadBuffer(size int) *z.Buffer {
	return z.NewBuffer(size+size/4, "folio.BulkLoad")
}

// Get implements objects.ObjectReader: what the store held before the
// load, and what it loaded once Finish returned.
func (l *bulkLoad) Get(ctx context.Context, id objects.ID) ([]byte, error) { return l.s.Get(ctx, id) }

// Has implements objects.ObjectReader, as Get.
func (l *bulkLoad) Has(ctx context.Context, id objects.ID) (bool, error) { return l.s.Has(ctx, id) }

// Put implements objects.BulkLoad.
func (l *bulkLoad) Put(ctx context.Context, objs ...objects.Object) error {
	if err := l.s.checkRoomFor(objs); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return errors.New("badgerstore: bulk load: put after Finish or Discard")
	}
	// In ID order, as many as can go on the main stream do.
	sorted := slices.SortedFunc(slices.Values(objs), func(a, b objects.Object) int { return a.ID.Compare(b.ID) })
	if l.leaf {
		return l.putLeaves(ctx, sorted)
	}
	for i, o := range sorted {
		if i%cancelCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		key := objectKey(o.ID)
		if l.last != nil && bytes.Compare(key, l.last) <= 0 {
			if err := l.keepForLater(o); err != nil {
				return err
			}
			continue
		}
		badger.KVToBuffer(&pb.KV{Key: key, Value: o.Data, Version: loadVersion, StreamId: mainStream}, l.buf)
		l.last = key
		if l.buf.LenNoPadding() >= l.bufBytes {
			if err := l.writeMain(); err != nil {
				return err
			}
		}
	}
	return l.writeMain()
}

// writeMain hands the buffered main stream to the StreamWriter.
func (l *bulkLoad) writeMain() error {
	if l.buf.LenNoPadding() == 0 {
		return nil
	}
	err := l.sw.Write(l.buf)
	l.buf.Reset()
	if err != nil {
		return fmt.Errorf("badgerstore: bulk load: %w", err)
	}
	return nil
}

// keepForLater keeps an object that came out of order, in memory or, past
// loadRestMemory, in a sorted run of the temporary file.
func (l *bulkLoad) keepForLater(o objects.Object) error {
	l.rest = append(l.rest, objects.Object{ID: o.ID, Data: bytes.Clone(o.Data)})
	l.restSz += len(o.Data)
	if l.restSz < l.restMemory {
		return nil
	}
	return l.spillRest()
}

// sortRest sorts the objects kept in memory and drops repeats.
func (l *bulkLoad) sortRest() {
	slices.SortFunc(l.rest, func(a, b objects.Object) int { return a.ID.Compare(b.ID) })
	l.rest = slices.CompactFunc(l.rest, func(a, b objects.Object) bool { return a.ID == b.ID })
}

func (l *bulkLoad) spillRest() error {
	l.sortRest()
	err := l.writeRun(l.rest)
	l.rest, l.restSz = nil, 0
	return err
}

// writeRun writes sorted objects as a run of the temporary file.
func (l *bulkLoad) writeRun(objs []objects.Object) error {
	if l.spill == nil {
		f, err := os.CreateTemp(l.s.dir, "folio-load-*")
		if err != nil {
			return fmt.Errorf("badgerstore: bulk load: %w", err)
		}
		os.Remove(f.Name()) // the file lives until closed
		l.spill = f
	}
	// Written through a small buffer: a run is as large as the memory the
	// rest may take, and copying it whole first would double that.
	w := bufio.NewWriterSize(io.NewOffsetWriter(l.spill, l.spillN), 1<<20)
	var size int64
	for _, o := range objs {
		w.Write(o.ID[:])
		n, _ := w.Write(binary.AppendUvarint(nil, uint64(len(o.Data))))
		w.Write(o.Data)
		size += int64(objects.IDSize + n + len(o.Data))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("badgerstore: bulk load: %w", err)
	}
	l.runs = append(l.runs, loadRun{off: l.spillN, size: size})
	l.spillN += size
	return nil
}

// Finish implements objects.BulkLoad.
func (l *bulkLoad) Finish(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return errors.New("badgerstore: bulk load: Finish after Finish or Discard")
	}
	err := l.finish(ctx)
	if err != nil {
		l.stop()
	}
	l.release()
	if err != nil {
		return fmt.Errorf("badgerstore: bulk load: %w", err)
	}
	return l.s.syncFailed.err() // a sync of the load's may have failed
}

func (l *bulkLoad) finish(ctx context.Context) error {
	if l.leaf {
		return l.finishLeaves(ctx)
	}
	if err := l.writeMain(); err != nil {
		return err
	}
	if err := l.sw.Flush(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(l.rest) > 0 || len(l.runs) > 0 {
		if err := l.writeRest(ctx); err != nil {
			return err
		}
	}
	// Written after the streams: an incremental stream needs empty
	// memtables. The write is synced (syncWrites).
	return l.s.db.Update(func(txn *badger.Txn) error {
		for _, k := range l.saved {
			if err := txn.Set(k.key, k.value); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeRest streams the objects that came out of order, merged from the
// runs and memory, into the level above the main stream.
func (l *bulkLoad) writeRest(ctx context.Context) error {
	l.sw = l.s.db.NewStreamWriter() // Discard cancels it
	if err := l.sw.PrepareIncremental(); err != nil {
		return err
	}
	return l.streamRest(ctx)
}

// streamRest writes the objects kept for later, merged from the runs and
// memory, through l.sw, prepared for an incremental stream.
func (l *bulkLoad) streamRest(ctx context.Context) error {
	l.sortRest()
	sources := make([]*runReader, 0, len(l.runs)+1)
	for _, r := range l.runs {
		sources = append(sources, newRunReader(io.NewSectionReader(l.spill, r.off, r.size)))
	}
	sources = append(sources, &runReader{mem: l.rest})
	var last objects.ID
	first := true
	n := 0
	err := mergeRuns(sources, func(o objects.Object) error {
		if !first && o.ID == last {
			return nil // in two runs
		}
		first, last = false, o.ID
		if n++; n%cancelCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		badger.KVToBuffer(&pb.KV{Key: objectKey(o.ID), Value: o.Data, Version: loadVersion, StreamId: restStream}, l.buf)
		if l.buf.LenNoPadding() >= l.bufBytes {
			return l.writeMain()
		}
		return nil
	})
	if err == nil {
		err = l.writeMain()
	}
	if err != nil {
		return err
	}
	return l.sw.Flush()
}

// Discard implements objects.BulkLoad.
func (l *bulkLoad) Discard() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.stop()
		l.release()
	}
	return nil
}

func (l *bulkLoad) release() {
	l.done = true
	l.s.loading.CompareAndSwap(l, nil)
	l.buf.Release()
	if l.spill != nil {
		l.spill.Close()
	}
	l.rest, l.runs = nil, nil
}

// runReader reads a sorted run: from the temporary file, or from memory.
type runReader struct {
	r    *bufio.Reader
	mem  []objects.Object
	cur  objects.Object
	ok   bool
	data []byte // cur's bytes when read from the file, reused by next
}

func newRunReader(r io.Reader) *runReader { return &runReader{r: bufio.NewReaderSize(r, 64<<10)} }

// next moves to the run's next object; ok is false at its end.
func (r *runReader) next() error {
	if r.r == nil {
		r.ok = len(r.mem) > 0
		if r.ok {
			r.cur, r.mem = r.mem[0], r.mem[1:]
		}
		return nil
	}
	var id objects.ID
	if _, err := io.ReadFull(r.r, id[:]); err != nil {
		if errors.Is(err, io.EOF) {
			r.ok = false
			return nil
		}
		return err
	}
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		return err
	}
	r.data = slices.Grow(r.data[:0], int(n))[:n]
	if _, err := io.ReadFull(r.r, r.data); err != nil {
		return err
	}
	r.cur, r.ok = objects.Object{ID: id, Data: r.data}, true
	return nil
}

// mergeRuns calls fn with the objects of the sorted runs in ID order; an
// object's bytes are fn's only until it returns.
func mergeRuns(runs []*runReader, fn func(objects.Object) error) error {
	for _, r := range runs {
		if err := r.next(); err != nil {
			return err
		}
	}
	for {
		var low *runReader
		for _, r := range runs {
			if r.ok && (low == nil || r.cur.ID.Compare(low.cur.ID) < 0) {
				low = r
			}
		}
		if low == nil {
			return nil
		}
		if err := fn(low.cur); err != nil {
			return err
		}
		if err := low.next(); err != nil {
			return err
		}
	}
}
