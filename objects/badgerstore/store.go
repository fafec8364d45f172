package badgerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// Errors of this package; the objects sentinels (ErrNotFound,
// ErrUnknownFormat, ErrRefChanged ...) keep their meaning here.
var (
	// ErrLocked: another process has the store open in a way that excludes
	// this open (a writer excludes everyone, readers exclude a writer).
	ErrLocked = errors.New("badgerstore: repository is in use by another process")
	// ErrReadOnly: a write to a store opened with Options.ReadOnly.
	ErrReadOnly = errors.New("badgerstore: repository is open read-only")
	// ErrSyncFailed: the disk reported a failed sync in this session, so
	// what was written may not be on it; every write is refused until the
	// store is opened again (see syncFailure).
	ErrSyncFailed = errors.New("badgerstore: a sync to disk failed")
	// ErrClosed: a call on a closed store.
	ErrClosed = errors.New("badgerstore: store is closed")
)

// Store is an objects.Store kept in one Badger database.
type Store struct {
	db       *badger.DB
	lock     *dirLock
	dir      string
	readOnly bool
	// refsV1: the store is of an older format (olderFormat; open
	// read-only, a writable open upgrades it), so its refs may lack their
	// check.
	refsV1  bool
	minFree int64 // see checkSpace
	// short: Badger runs without compactors (Options.Short); settleOpts
	// are the options of a session that settles (see Close).
	short      bool
	settleOpts badger.Options
	// mergesLevelZero: Close merges level 0 (compactL0At); badgerOpens
	// counts the opens of Badger it took to find out (for tests).
	mergesLevelZero bool
	badgerOpens     int
	closed          atomic.Bool
	syncFailed      *syncFailure             // Badger could not sync its value log (logger.go)
	written         atomic.Int64             // bytes Put in this session
	loading         atomic.Pointer[bulkLoad] // a bulk load under way (bulkload.go)

	// badgerOpts are the options Badger was opened with (see reopen).
	badgerOpts badger.Options
	// setAside: the folder unlisted holds tables (unlisted.go); aside
	// counts what they hold that the store lacks.
	setAside bool
	aside    []SetAsideTable

	// refsMu lets an update of more refs than one transaction holds
	// (bigrefs.go) hold off every other ref reader and writer.
	refsMu sync.RWMutex

	// unverified, set only by benchmarks, skips the hash check of Get to
	// measure what it costs.
	unverified bool

	// recent keeps the bytes of objects written or read lately
	// (Options.RecentBytes); nil keeps none.
	recent *objects.Recent[[]byte]

	quarantineMu     sync.Mutex
	quarantines      uint64              // numbers the quarantines opened (quarantineMu)
	openQuarantines  map[uint64]struct{} // not yet discarded (quarantineMu)
	quarantineBytes  atomic.Int64        // what they keep in memory
	quarantineMemory int64               // at most
	feed             feed                // the change feed's retention, clock and signal (feed.go)
	pins             pinning             // what transfers build on, kept from collections (pin.go)

	// lastMark is the newest time mark (Unix seconds; 0: not read yet),
	// markPending the one an UpdateRefs in flight writes (collect.go).
	lastMark, markPending atomic.Int64

	// beforeRefCommit, when set by a test, runs inside UpdateRefs after
	// the refs were read and before the transaction commits.
	beforeRefCommit func()
}

var (
	_ objects.Store      = (*Store)(nil)
	_ objects.ChangeFeed = (*Store)(nil)
)

// Close flushes what is in memory to disk and releases the lock. Calls
// after the first return nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if l := s.loading.Load(); l != nil {
		l.Discard() // Badger closes only with its writes and compactions resumed
	}
	settle := s.written.Load() >= settleAfter
	if settle && !s.short {
		s.settle()
	}
	if !s.readOnly && !settle && !s.mergesLevelZero {
		s.noteMergeDue()
	}
	var err error
	if s.mergesLevelZero && !settle && s.mergeLevelFull() {
		err = s.flatten()
	}
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if settle && err == nil {
		err = s.settleIn()
	}
	if (settle || s.mergesLevelZero) && err == nil {
		err = s.mergeDone()
	}
	if !s.badgerOpts.ReadOnly && err == nil && s.syncFailed.err() == nil { // nothing more on a disk that failed a sync
		err = compactManifest(s.dir, s.badgerOpts)
	}
	if lerr := s.lock.release(); err == nil && lerr != nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("badgerstore: close %s: %w", s.dir, err)
	}
	return nil
}

// mergeLevelFull says whether the level that close-time merges of level
// 0 go into (the base level of a session opened to merge them) holds what
// a flatten should take down (mergeLevelLimit). Where that level is the
// bottom one, every merge rewrites the bottom anyway.
func (s *Store) mergeLevelFull() bool {
	var merged, bottom int64
	for _, l := range s.db.Levels()[1:] {
		switch {
		case l.IsBaseLevel:
			merged, bottom = l.Size, 0
		case l.Size > 0:
			bottom = l.Size
		}
	}
	return bottom > 0 && merged >= max(mergeLevelLimit, bottom/mergeLevelShare)
}

// flatten compacts every level into the bottom one.
func (s *Store) flatten() error {
	if err := s.db.Flatten(numCompactors); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	return nil
}

// noteMergeDue writes mergeDueFile when level 0 will hold compactL0At
// tables once Close has flushed the memtable. It writes no hint when it
// cannot: the next session then counts the tables itself.
func (s *Store) noteMergeDue() {
	if s.db.Levels()[0].NumTables+1 >= compactL0At {
		os.WriteFile(filepath.Join(s.dir, mergeDueFile), nil, 0o644)
	}
}

// mergeDone removes mergeDueFile after level 0 was merged.
func (s *Store) mergeDone() error {
	err := os.Remove(filepath.Join(s.dir, mergeDueFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// settle waits, up to settleTimeout, until Badger's compactors have
// brought every level back under its target size. Badger stops them on
// Close whatever their backlog, so without this a large import would leave
// an oversized base level behind, and every later close-time compaction
// of level 0 (compactL0At) would rewrite all of it.
func (s *Store) settle() {
	deadline := time.Now().Add(settleTimeout)
	for time.Now().Before(deadline) {
		busy := false
		for _, l := range s.db.Levels() {
			busy = busy || l.Score >= 1
		}
		if !busy {
			return
		}
		time.Sleep(settlePoll)
	}
}

// settleIn finishes the compaction a large session owes in a session of
// its own, so that no later short command does it: it settles the levels
// if the large session had no compactors (Options.Short), and merges level
// 0 into the base level on Close. Settled compactors leave up to
// numLevelZeroTables-1 tables in level 0 and Close flushes one more, a
// memtable's worth each: an import of 100,000 documents left 25 MB there,
// which the first close-time merge (compactL0At) then rewrote inside a
// one-document commit.
func (s *Store) settleIn() error {
	bopts := s.settleOpts.WithCompactL0OnClose(true)
	if !s.short {
		bopts = shortSession(bopts, false) // settled already
	}
	db, err := openBadger(bopts)
	if err != nil {
		return err
	}
	s.db = db
	if s.short {
		s.settle()
	}
	return db.Close()
}

func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

func (s *Store) checkWritable() error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if s.readOnly {
		return ErrReadOnly
	}
	return s.syncFailed.err()
}
