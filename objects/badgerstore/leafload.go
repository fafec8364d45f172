package badgerstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"

	"github.com/folio-db/folio/objects"
)

// A leaf load (objects.LeafLoader) is the bulk load of a first import:
// blobs into a new store, one that holds its format record and nothing
// else. As a clone's bulk load it empties the store and streams the
// record and the objects, in key order, into tables of the bottom level:
// no write-ahead log, memtable or compaction. Every object waits for
// Finish, as a bulk load's out-of-order ones do (sorted in memory, then in
// runs of a temporary file), since an import finds them in no order.
//
// A crash does not hurt it. Until the stream's first table is in Badger's
// manifest, the store holds no key at all, which Open takes for a new
// store (checkFormat writes the record again): nothing was imported.
// Badger adds each table to its manifest once the table is synced, so
// after that a crash leaves the record and a prefix of the objects, each
// whole; blobs reference nothing, so no stored object lacks what it
// references, and what no ref reaches is garbage for gc.
//
// The stream goes into the bottom level, under no other table: a stream
// into the level above a store's record (Badger's incremental stream)
// left a bottom level of one small table, and Badger, which sizes the
// levels from the bottom one, then rewrote the whole load into it.

var _ objects.LeafLoader = (*Store)(nil)

// The memory of a leaf load, which a first import's peak is made of
// (100,000 documents of 1.2 KiB, peak RSS with the CLI's heap limit).
const (
	// Badger's table builder holds about ten times the table it builds
	// (every 16 KiB block twice or three times, in buffers that double),
	// and a stream keeps two or more builders at work: with tables of 8
	// MiB the builders held ~190 MiB, with 4 MiB ~90, with 2 MiB ~50. A
	// stream makes tables of the bottom level's size (64 MiB in a usual
	// session), so the load reopens Badger with tables of leafTableSize,
	// the size of Badger's base level, at every level (leafSession).
	leafTableSize = 2 << 20
	// What the load hands the StreamWriter at once: the StreamWriter
	// copies every value of it and queues up to four such writes.
	leafBufferBytes = 1 << 20
	// What the load keeps in memory before it spills a sorted run; a Put
	// of leafRunMin bytes or more is a run of its own, with no copy (an
	// import puts 8 MiB at once), and Finish merges every run.
	leafRestMemory = 8 << 20
	leafRunMin     = 1 << 20
)

// LeafLoad implements objects.LeafLoader. It reopens Badger for the load
// (leafSession), and Finish reopens it again (finishLeaves), so no other
// call may use the store until Finish or Discard returns. The objects go
// into the LSM tree, not the value log: Badger syncs the value log only
// in a deferred call that drops the error, so a table could outlive the
// values it points to.
func (s *Store) LeafLoad(ctx context.Context) (objects.BulkLoad, int, error) {
	if err := s.checkWritable(); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	saved, err := s.savedForLoad()
	if errors.Is(err, ErrNotEmpty) || err == nil && !onlyFormatRecord(saved) {
		return nil, 0, fmt.Errorf("%w: not a new store", objects.ErrNoLeafLoad)
	}
	if err != nil {
		return nil, 0, err
	}
	if err := s.reopen(leafSession(s.badgerOpts)); err != nil {
		return nil, 0, fmt.Errorf("badgerstore: leaf load: %w", err)
	}
	l := &bulkLoad{s: s, sw: s.db.NewStreamWriter(), buf: newLoadBuffer(leafBufferBytes), bufBytes: leafBufferBytes,
		restMemory: leafRestMemory, leaf: true}
	if !s.loading.CompareAndSwap(nil, l) {
		l.buf.Release()
		return nil, 0, errors.New("badgerstore: a bulk load is under way")
	}
	if err := l.sw.Prepare(); err != nil {
		l.Discard()
		return nil, 0, fmt.Errorf("badgerstore: leaf load: %w", err)
	}
	// The record goes first in the stream: "f" sorts before every object.
	badger.KVToBuffer(&pb.KV{Key: []byte(formatKey), Value: []byte(formatRecord), Version: loadVersion, StreamId: restStream}, l.buf)
	return l, valueThreshold - 1, nil
}

func onlyFormatRecord(saved []savedKey) bool {
	return len(saved) == 1 && string(saved[0].key) == formatKey && string(saved[0].value) == formatRecord
}

// putLeaves adds sorted objects to a leaf load: a batch of leafRunMin
// bytes or more as a run of the temporary file of its own, written from
// the caller's bytes, a smaller one to the objects kept in memory.
func (l *bulkLoad) putLeaves(ctx context.Context, sorted []objects.Object) error {
	size := 0
	for _, o := range sorted {
		if len(o.Data) >= valueThreshold {
			return fmt.Errorf("%w: a leaf load takes objects under %d bytes", objects.ErrTooLarge, valueThreshold)
		}
		size += len(o.Data)
	}
	if size >= leafRunMin {
		return l.writeRun(sorted)
	}
	for i, o := range sorted {
		if i%cancelCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := l.keepForLater(o); err != nil {
			return err
		}
	}
	return nil
}

// leafSession sets the options of Badger during a leaf load: tables of
// leafTableSize at every level, and the small memtable of a short session,
// since nothing is written to it: Badger allocates its memtable whole, on
// the heap, and the collector counts it against the heap limit.
func leafSession(bopts badger.Options) badger.Options {
	bopts = bopts.WithBaseTableSize(leafTableSize).WithMemTableSize(shortMemTableSize)
	bopts.TableSizeMultiplier = 1 // Badger has no With for it
	return bopts
}

// finishLeaves writes a leaf load's stream (prepared, and holding the
// format record) and reopens Badger with the session's options. The
// reopen also frees what the stream left in the process: its tables'
// pages (written through memory maps, 40 MB for 100,000 documents) and
// its table builders' buffers (which Badger keeps for reuse, about as much
// again) would otherwise stay there for the rest of an import, and count
// in its peak memory.
func (l *bulkLoad) finishLeaves(ctx context.Context) error {
	if err := l.streamRest(ctx); err != nil {
		return err
	}
	return l.s.reopen(l.s.badgerOpts)
}

// reopen closes Badger and opens it again with bopts. No other call may
// use the store meanwhile: a leaf load holds it until Finish returns.
func (s *Store) reopen(bopts badger.Options) error {
	if err := s.db.Close(); err != nil {
		return err
	}
	db, err := openBadger(bopts)
	if err != nil {
		return err
	}
	s.db = db
	s.badgerOpens++
	return nil
}

// stop ends a load that will not finish. A bulk load's stream is
// cancelled (its store is thrown away). A leaf load's is written out as it
// stands, the format record first, so the tables it wrote take their
// place in the level and writes resume; Badger keeps the load's options
// for the rest of the session.
func (l *bulkLoad) stop() {
	if l.leaf {
		l.writeMain()
		l.sw.Flush()
		return
	}
	l.sw.Cancel()
}
