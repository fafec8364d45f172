package badgerstore

import (
	"log/slog"
	"math"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/folio-db/folio/objects"
)

// Options says how to open a store.
type Options struct {
	// Create makes Open create the store when dir holds none. Without it,
	// opening a missing store fails with objects.ErrNotFound and creates
	// nothing.
	Create bool
	// ReadOnly takes a shared lock, so several readers can work at once;
	// Put and UpdateRefs then fail with ErrReadOnly. Create and ReadOnly
	// exclude each other.
	ReadOnly bool
	// LockWait is how long Open waits for another process to release the
	// store before it gives up with ErrLocked. Zero: try once.
	LockWait time.Duration
	// Logger receives Badger's error messages; nil keeps Badger silent.
	Logger *slog.Logger
	// CacheBytes sizes the cache of decompressed blocks; zero keeps the
	// small default of a short command (smaller still for ReadOnly). A
	// server reading many objects (clones, merges) wants one near the size
	// of its hot data: every object read from a block not in the cache
	// decompresses the block.
	CacheBytes int64
	// RecentBytes keeps up to about this many bytes of the objects
	// written or read lately in memory (objects.Recent); zero keeps none.
	// A server wants some: its peers fetch what it just wrote, and a
	// look-up in Badger searches every memtable and level.
	RecentBytes int64
	// MinFreeBytes is the free space below which writes are refused with
	// objects.ErrNoSpace (see space.go); zero means the default, enough for
	// everything Badger maps while it runs.
	MinFreeBytes int64
	// FeedKeep is how many of the latest branch moves the change feed
	// keeps (feed.go); zero means DefaultFeedKeep.
	FeedKeep int
	// Now is the clock that dates the change feed's moves; nil: time.Now.
	Now func() time.Time
	// Short marks a read-write session that writes little and ends soon,
	// as a CLI command's put or commit. Badger's compactors stay off in
	// it: they start at a random moment in the first second after Open,
	// and one that starts inside a short command runs a compaction of a
	// large level (tens of MB: hashes spread every table over all keys)
	// that Close then waits for, a stall of most of a second in one
	// command out of several. Level 0 is kept in check by the close-time
	// merge (compactL0At) instead; a short session that writes
	// settleAfter bytes after all settles on Close like any other.
	Short bool
}

// Badger settings for a short-lived CLI process that may import a large
// repository; doc.go gives the measurements behind them.
const (
	// Small memtables bound the memory of an import: Badger keeps up to
	// numMemtables skiplists, and turning one into a level-0 table takes
	// several times its size again. 16 MiB rather than 8: a Badger
	// transaction may fill 15% of one, and every transaction is a synced
	// write, so an import of 100 MB makes half as many (1.9 s instead of
	// 2.0-2.5 s here) for a peak RSS still near 210 MiB under the CLI's
	// heap limit.
	memTableSize = 16 << 20
	numMemtables = 2
	// A short session (Options.Short) writes kilobytes; its memtable is
	// the smallest that takes a transaction of valueThreshold (15%).
	shortMemTableSize = 2 << 20
	// Every object under valueThreshold stays in the LSM tree, where it is
	// compressed block by block and needs no value-log garbage collection.
	// Badger caps the threshold at 1 MiB and at 15% of the memtable. The
	// chunks of large documents (256 KiB to 4 MiB) go to the value log:
	// at 1 MiB, memtables full of them made Badger's table builders hold
	// many times what was written (a server taking 100 concurrent 10 MB
	// documents peaked at 945 MiB of live heap; at 256 KiB, 53 MiB).
	valueThreshold = 256 << 10
	// Larger objects go to the value log, and one value may not exceed a
	// value-log file. Badger preallocates twice this (as a sparse file)
	// while the store is open and truncates it on Close.
	valueLogFileSize = 64 << 20
	// Larger blocks give the compressor more context: JSON documents of
	// ~1 KiB take 30% less space 16 to a block than 4 to a block. Snappy
	// (S2) rather than ZSTD: 25% more bytes on disk (still well under
	// git's packed .git), for imports about 25% faster and reads that
	// decompress in half the time.
	blockSize = 16 << 10
	// Compressed blocks are cached decompressed; a CLI command reads
	// little, so a small cache is enough.
	blockCacheSize = 8 << 20
	// A read-only open keeps an even smaller one. Objects are keyed by
	// their hash, so the reads of one command rarely meet in a block twice
	// (the prolly index keeps its own cache of decoded nodes), and a cache
	// that fills holds its blocks live: the garbage collector then lets the
	// heap grow to a multiple of it, and every page the heap takes is a
	// fault. 'folio ls' of 100,000 keys with 8 MiB: ~9,600 page faults and
	// ~300 ms of CPU; with 1 MiB: ~5,500 and ~230 ms.
	readOnlyCacheSize = 1 << 20
	// Fewer level-0 tables before compaction keeps reads and Open fast.
	numLevelZeroTables      = 4
	numLevelZeroTablesStall = 12
	numCompactors           = 2
	// Badger's compactors start up to a second after Open, so a CLI
	// command that writes a little and exits leaves one more level-0
	// table each time and compacts nothing: Open and every read slow down
	// as they pile up. A read-write open that finds compactL0At of them
	// has Badger merge them into the base level on Close. Keys are hashes,
	// so every level-0 table overlaps the whole base level and the merge
	// rewrites all of it: baseLevelSize bounds that, whatever the size of
	// the repository (about half a second of CPU, once every compactL0At
	// commands). A smaller base level makes those merges cheaper but the
	// levels below it busier: with 4 MiB, settling an import of 100,000
	// documents took 3.6 s of CPU instead of 0.9 s.
	compactL0At   = 8
	baseLevelSize = 16 << 20
	// That merge is made with a base level of mergeBaseLevelSize instead:
	// Badger then picks as the base the level above the bulk of the data,
	// empty after an import settled or gc flattened the store, so the
	// merge rewrites only what short commands wrote since, not the whole
	// base level (15 MB after an import of 100,000 documents: 0.7 s, a
	// stall once every four put + commit runs). What those merges gather
	// goes down with the rest when gc flattens the store. Without that (a
	// laptop that only commits), the level would grow without bound, every
	// merge rewriting all of it: about 10 KB a one-document commit, so a
	// quarter of a second more per merge every thousand commits. A merge
	// session that finds that level holding mergeLevelLimit, or a
	// mergeLevelShare of the bottom level if more, flattens the store
	// instead: one rewrite of everything (about a second for 100,000
	// documents) every few hundred commits, against merges that get
	// slower with each one.
	mergeBaseLevelSize = 1 << 20
	mergeLevelLimit    = 4 << 20
	mergeLevelShare    = 64
	// A session that put at least settleAfter bytes waits on Close for
	// the compactors to catch up (Store.settle): the compaction an import
	// owes is done by the import, not by some later command.
	settleAfter   = memTableSize
	settleTimeout = time.Minute
	settlePoll    = 20 * time.Millisecond
)

// syncWrites makes Badger sync its write-ahead log before any write
// returns. UpdateRefs depends on it: db.Sync() syncs only the active
// memtable's log, not the logs of full memtables still waiting to be
// flushed, so after a power loss objects in those could be gone while a
// ref written later and synced survived. Synced writes close that gap for
// one fsync per Put call (a WriteBatch groups a large Put into few).
const syncWrites = true

// MaxObjectSize is the largest object Put accepts: one value-log file.
const MaxObjectSize = valueLogFileSize

// shortSession turns the options of a read-write open into those of a
// short session (Options.Short): no compactors, and so no stall of writes
// on a full level 0 either, as nothing would empty it. With smallMemTable,
// the memtable is shortMemTableSize: Badger allocates its skiplist whole
// and maps a write-ahead log of twice its size in every read-write open,
// and the first write to that new, sparse file reads up to the device's
// read-ahead of holes into the page cache (8 MiB on the machine measured).
// A memtable too small for a write-ahead log left by a process that died
// could not replay it: Open then keeps memTableSize.
func shortSession(opts badger.Options, smallMemTable bool) badger.Options {
	opts = opts.WithNumCompactors(0).WithNumLevelZeroTablesStall(math.MaxInt32)
	if smallMemTable {
		opts = opts.WithMemTableSize(shortMemTableSize)
	}
	return opts
}

func badgerOptions(dir string, readOnly bool, logger *slog.Logger, cacheBytes int64) badger.Options {
	switch {
	case cacheBytes > 0:
	case readOnly:
		cacheBytes = readOnlyCacheSize
	default:
		cacheBytes = blockCacheSize
	}
	opts := badger.DefaultOptions(dir).
		WithReadOnly(readOnly).
		WithLogger(badgerLogger(logger, nil)).
		WithMetricsEnabled(false).
		WithNumGoroutines(2).
		// Every write is in the synced write-ahead log before it returns;
		// see doc.go for why UpdateRefs needs that.
		WithSyncWrites(syncWrites).
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithValueThreshold(valueThreshold).
		WithValueLogFileSize(valueLogFileSize).
		WithBlockSize(blockSize).
		WithBlockCacheSize(cacheBytes).
		WithIndexCacheSize(0).
		WithCompression(options.Snappy).
		WithNumLevelZeroTables(numLevelZeroTables).
		WithNumLevelZeroTablesStall(numLevelZeroTablesStall).
		WithNumCompactors(numCompactors).
		WithBaseLevelSize(baseLevelSize).
		WithCompactL0OnClose(false).
		// The store takes its own lock on dir (lock_unix.go) so that a
		// second process gets ErrLocked, not Badger's message.
		WithBypassLockGuard(true)
	return opts
}

// recentOverhead is what an object kept in memory (Options.RecentBytes)
// costs besides its bytes: its key, slice header and map slot, the spare
// slots of maps that grow by doubling, and its bytes' size class. Small
// objects measure 100-115 bytes (TestRecentObjectsTakeAboutTheirBudget).
const recentOverhead = 128

func newRecent(budget int64) *objects.Recent[[]byte] {
	return objects.NewRecent(budget, func(data []byte) int64 { return int64(len(data)) + recentOverhead })
}
