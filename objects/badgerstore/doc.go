// Package badgerstore is the real objects.Store: the objects and refs of
// one leader in one Badger database. It is the only package that imports
// Badger; nothing of Badger crosses its boundary (values are copied out of
// transactions, badger.ErrKeyNotFound becomes objects.ErrNotFound, a
// transaction conflict becomes a retry or objects.ErrRefChanged).
//
// # Layout
//
// One byte says what a key holds:
//
//	"f"          -> "folio-store 2", the format record
//	"o" + ID     -> the encoded object
//	"r" + name   -> the 32-byte ID the ref points at, and its check (keys.go)
//	"s"          -> the change feed's latest sequence number
//	"c" + seq    -> one branch move of the change feed (feed.go)
//	"e" + time   -> a time mark (Unix seconds), empty
//	"h" + ID     -> a value a ref left (retired), empty
//
// Open writes the format record into a new database and refuses any
// database whose record it does not know, or that has none, with
// objects.ErrUnknownFormat. Without Options.Create, a folder that holds no
// database is objects.ErrNotFound and Open creates nothing.
//
// # Durability: objects first, refs last
//
// Invariant 2 of DESIGN.md says a ref never points at an object that is
// not on disk. Badger's db.Sync() is not enough to get there: it syncs the
// log of the active memtable only, while full memtables waiting for their
// flush keep unsynced logs, so after a power loss objects in those could
// be gone while a ref written later survived. The store therefore opens
// Badger with synced writes: every Put returns once its objects are in the
// synced log, and UpdateRefs, one read-write transaction that checks every
// Old and writes every New, is durable when it returns. A Put costs one
// fsync (a WriteBatch groups a large Put into a few), so callers batch.
//
// # Processes
//
// The store takes an flock on its folder, as Badger would (Badger's own
// lock is bypassed because its error is a message, not a value): shared
// for Options.ReadOnly, exclusive otherwise. Open polls for up to
// Options.LockWait and then fails with ErrLocked. The kernel drops the
// lock when a process dies, so a crash leaves no stale lock.
//
// Badger refuses a read-only open of a database whose writer died: its
// logs need replaying. Open then falls back to a read-write open, which
// replays them, and the Store still refuses writes (ErrReadOnly).
//
// Badger deletes the table files its MANIFEST does not list, in a
// read-only open too, whether a crash left them (redundant) or the
// MANIFEST was cut short (the whole store). Open moves them aside into
// the folder unlisted first, and deletes them only once the store holds
// what they hold, putting objects back (checked against their IDs) in a
// read-write open; what it cannot take back, refs above all, is counted by
// Store.SetAside (cached in the folder, so that every command does not
// read every table), listed by Store.Unlisted and reported by fsck
// (unlisted.go). A file a kill cut short (its tail a hole, never written)
// holds nothing and is deleted; one that cannot be read otherwise is kept.
// Close rewrites a MANIFEST grown past 8 KiB, keeping the old one until
// the next Open finds the new one whole, and puts it back if it is not
// (manifest.go): a disk that lost the rewritten file's content loses no
// table.
//
// Badger opens the listed tables in goroutines of its own, where some
// damage to a table's footer or last block makes it panic and end the
// process; Open checks those parts first and fails with ErrCorrupt naming
// the file, and reads recover Badger's panics on damaged blocks
// (tablecheck.go).
//
// # Garbage collection: write times and the grace period
//
// An object's write time is the Badger version of its newest copy: every
// Put writes the object again (it never skips one already stored), so a
// re-put freshens it, as git's freshening of a loose object does. Versions
// are commit timestamps, not clock times; time marks translate: UpdateRefs
// adds an empty key "e"+now at most once an hour (markEvery), and every gc
// one when it starts, so a mark says "everything at or below my version
// was written by then". When UpdateRefs moves or deletes a ref, the value
// it leaves is recorded under "h"+ID in the same transaction: the version
// of that record is when the value stopped being a ref.
//
// A collection with grace period G takes as cutoff the version of the
// newest mark at least G old (with G = 0: every commit before it begins;
// no mark that old: nothing is old). The rule, which repo.GC follows:
//
//	An object is deleted only if no ref reaches it when gc reads the
//	refs, no ref value retired after the cutoff reaches it, no object
//	written after the cutoff reaches it, and its own newest copy is at
//	or below the cutoff.
//
// So a writer (commit, import, push, fetch, document write) that takes
// less than G loses nothing: what it wrote is newer than the cutoff, and
// what it read was reachable from a ref then, so it is still reachable,
// or was retired within G. gc --prune=now (G = 0) protects only writers
// that start after it: like git's, it is for a repository nobody writes.
// Marks are at least an hour apart and a clock set back writes none, so
// every error keeps more, never less. The delete itself re-reads each key
// in a transaction and skips one written again since the cutoff; a Put
// that commits between that read and the delete makes the transaction
// conflict, and it is read again (Collection.Sweep).
//
// # Garbage collection: receives
//
// A receive breaks the writer's argument above: it builds on objects the
// store holds without writing them again, whether a ref reaches them or
// not (an old commit that v1/has says is here, or a subtree of a branch
// deleted weeks ago that a new commit names again): the receiver drops
// sent objects it holds, Admit stops its walk at them, and the documents
// new leaves name are not sent. So the rule has one more root:
//
//	No object is deleted that a pin held when the collection began, or
//	made while it runs, reaches.
//
// The quarantine of the receive pins the ref values Admit checked
// (pin.go), and releases them on Discard, after the ref update: a pin
// keeps what it reaches through the quarantine and the store. A
// collection keeps the pins it took until it ends: it may have read the
// refs before the update. Before its sweep deletes anything it keeps the
// stored objects its pins reach that the mark did not; during the sweep,
// a new pin walks what it reaches at once, under the lock the delete
// batches take. The sweep may already have deleted part of that (the
// commit a receive was told the store holds): the pin then fails with
// ErrCollected (a kind of objects.ErrNotFound, on which a sender sends
// everything again) and keeps nothing, and the receive moves no ref. A
// pin also fails if a sweep that deleted objects ended after its
// quarantine began: what the receive trusted may be gone. With no
// collection, a pin costs an append under a mutex. Pins live in this
// process: the CLI's gc holds the store's lock, so only a server's own
// collections race its receives.
//
// Whatever stops a sweep, every object it leaves has its whole closure:
//
//	A sweep deletes an object only in the batch of, or after, every
//	object it deletes that references it.
//
// It deletes in objects.ReferenceRank order: working sets, commits from
// the highest down, map nodes from the top level down, conflict records
// (a record after every record that replaces it), chunked documents,
// blobs. Each batch is one transaction, so after any batch, and after a
// crash, what is left is closed as it was before the sweep, and a
// receive may trust any stored object. The sweep learns the ranks in its
// walk over the keys, reading a few bytes of each object it will delete,
// and sorts them with bounded memory: runs of 65,536 entries (48 bytes
// each) go to temporary files in the store's folder, unlinked at once,
// merged 64 at a time (sweeporder.go). Only conflict records that other
// records to delete replace take memory each (a few dozen bytes), as
// chains of them have any length.
//
// Deleted objects free their space when compaction meets the deletions:
// Reclaim flattens the tables to one level and collects the value log
// (which only objects over 1 MiB use) until a pass frees nothing.
//
// # Settings for a CLI
//
// A folio command is a short process. Badger's defaults are made for a
// long-running server; the ones here (options.go) were measured on
// 100,000 generated JSON documents of ~1 KiB (103 MB), see bench_test.go:
//
//   - Every object under 256 KiB (every document but the chunks of large
//     ones, see options.go) stays in the LSM tree, compressed with
//     Snappy in 16 KiB blocks: about 54 MB on disk, where git's packed .git
//     takes 73 MB for the same files and Badger's defaults (Snappy, 4 KiB
//     blocks) 76 MB. ZSTD's fastest level would take 42 MB but costs an
//     import a quarter more time and a random read twice the
//     decompression (65 µs instead of about 30 µs).
//   - 16 MiB memtables, two of them, an 8 MiB block cache, 2 MiB tables
//     and two compactors bound the memory of an import. Badger allocates its
//     buffers on the Go heap, so the GC's headroom doubles them: the peak
//     RSS of the import is about 300 MiB with Go's default GC (Badger's
//     defaults: 470 MiB) and 190 MiB under a soft memory limit of 150 MiB,
//     which a CLI should set (debug.SetMemoryLimit). Smaller memtables and
//     tables save little more (compaction then dominates) and open slower.
//   - Badger's compactors start up to a second after Open, so commands that
//     write a little and exit would pile up level-0 tables forever, each
//     one slowing Open and every read. A read-write Open that finds
//     compactL0At of them has Close compact them into the base level, and a
//     session that wrote a lot (an import) waits on Close for the
//     compactors to bring every level under its target and then merges
//     level 0 into the base level, so that the base level those
//     compactions rewrite stays small (a 16 MiB target) and no later
//     short command merges what the import left in level 0. The session
//     that leaves compactL0At tables in level 0 writes a hint file, so the
//     next one opens Badger once, already set to merge them.
//   - Those close-time merges go into a small level above the bulk
//     (mergeBaseLevelSize), which only a flatten takes down. A merge
//     session that finds it holding mergeLevelLimit flattens the store
//     first: after 880 one-document commits that level held 9.4 MB and
//     every fourth put + commit spent 0.4 s of CPU rewriting it, growing
//     with every commit; bounded, one command in about 400 flattens the
//     store (6 s of CPU for 47 MB on a machine under a load of 18) and
//     the merges stay under 0.1 s.
//   - A short session (Options.Short: the CLI's put, commit and the other
//     commands that write a little) runs no compactors at all: they start
//     at a random moment in the first second after Open, and one that
//     started inside a short command compacted a level of tens of MB
//     that Close waited for (a stall of most of a second in one command
//     out of several). Its memtable is 2 MiB: Badger allocates it whole
//     and maps a write-ahead log of twice its size, whose first write
//     reads the device's read-ahead of holes (8 MiB here) into the page
//     cache.
//   - A store created in this session and holding no objects yet (a
//     clone's, in its staging folder) can be filled by a bulk load
//     (bulkload.go): Badger's StreamWriter writes sorted tables straight
//     into the bottom level, with no write-ahead log, memtable, level 0 or
//     compaction. Its Prepare drops everything first, so it serves only
//     stores that are thrown away when the load fails. PrepareIncremental,
//     which keeps what the store holds (an import into an existing store),
//     is not used: on a store with level-0 tables it runs Flatten, whose
//     deferred startCompactions starts a second set of compactors that the
//     stream's Flush starts again; the first set outlives Close (a SIGSEGV
//     in a compaction during Close was seen, Badger v4.9.6), and those
//     compactors run while the stream adds tables. Its tables go one level
//     above the data, so into an empty store they land in level 5 and are
//     compacted into level 6 right after, rewriting what was loaded.
//   - Badger's logging is off, or reduced to errors sent to
//     Options.Logger. After a clean Close nothing needs replaying: a
//     read-only Open of the 100,000-object store, one Get and Close take
//     about 2.5 ms in a warm process and 7 ms in a new one.
package badgerstore
