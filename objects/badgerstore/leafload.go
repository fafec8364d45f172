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
	// MiB the builders held ~190 MiB, with 4 MiB ~90, with 2 MiB ~50. So
	// a bulk session (Options.Bulk) makes tables of leafTableSize, at
	// every level, as many as Badger's base level holds by default.
	leafTableSize = 2 << 20
	// What the load hands the StreamWriter at once: the StreamWriter
	// copies every value of it and queues up to four such writes.
	leafBufferBytes = 1 << 20
	// What the load keeps in memory before it spills a sorted run.
	leafRestMemory = 8 << 20
)

// LeafLoad implements objects.LeafLoader. The objects go into the LSM
// tree, not the value log: Badger syncs the value log only in a deferred
// call that drops the error, so a table could outlive the values it
// points to.
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

// stop ends a load that will not finish. A bulk load's stream is
// cancelled (its store is thrown away). A leaf load's is written out as it
// stands, the format record first, so the tables it wrote take their
// place in the level and writes resume.
func (l *bulkLoad) stop() {
	if l.leaf {
		l.writeMain()
		l.sw.Flush()
		return
	}
	l.sw.Cancel()
}
