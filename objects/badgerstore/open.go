package badgerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// Open opens the store in dir; see Options for creating it, sharing it
// and waiting for other processes.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Create && opts.ReadOnly {
		return nil, errors.New("badgerstore: Create and ReadOnly exclude each other")
	}
	exists, err := storeExists(dir)
	if err != nil {
		return nil, err
	}
	if !exists {
		if !opts.Create {
			return nil, fmt.Errorf("badgerstore: no store in %s: %w", dir, objects.ErrNotFound)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("badgerstore: %w", err)
		}
	}

	s, err := openAs(dir, opts, opts.ReadOnly, !opts.ReadOnly)
	var refused *badgerRefusal
	if opts.ReadOnly && errors.As(err, &refused) {
		// Badger cannot open read-only a database that was not closed
		// cleanly: its write-ahead logs must be replayed and truncated
		// first. Open it read-write, which repairs it, and still refuse
		// writes through this Store.
		s, err = openAs(dir, opts, false, false)
	}
	if err != nil {
		return nil, err
	}
	s.readOnly = opts.ReadOnly
	s.feed.init(opts)
	if err := s.prepare(opts); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// prepare is what Open does once Badger opened: take back set-aside
// tables, check the format, finish what a crash cut short. Badger reads
// blocks here in this goroutine, so a panic on a damaged one becomes an
// error (recoverDamage).
func (s *Store) prepare(opts Options) (err error) {
	defer recoverDamage(s.dir, &err)
	if s.setAside {
		if err := s.takeBackUnlisted(opts.Logger); err != nil {
			return err
		}
	}
	if err := s.checkFormat(); err != nil {
		return err
	}
	if s.readOnly {
		return nil
	}
	// Finish, or drop, an update of many refs that a crash cut short.
	if _, err := s.finishJournal(); err != nil {
		return err
	}
	// Quarantines of a process that died: what they held never
	// became visible, and no ref needs it.
	return s.deletePrefix([]byte{quarantinePrefix})
}

// storeExists reports whether dir holds a Badger database.
func storeExists(dir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dir, badger.ManifestFilename))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, refuseTablesWithoutManifest(dir)
	}
	return false, fmt.Errorf("badgerstore: %w", err)
}

// badgerRefusal is Badger declining to open a database that we could lock.
type badgerRefusal struct{ err error }

func (e *badgerRefusal) Error() string { return "badgerstore: open: " + e.err.Error() }

func (e *badgerRefusal) Unwrap() error { return e.err }

// openAs locks dir and opens Badger in it. With maintain, a read-write
// open of a database with many level-0 tables has Close compact them (see
// compactL0At): at once when the session before said so (mergeDue), else
// by reopening it once it sees them.
func openAs(dir string, opts Options, readOnly, maintain bool) (*Store, error) {
	lock, err := lockDir(dir, readOnly, opts.LockWait)
	if err != nil {
		return nil, err
	}
	failed := new(syncFailure)
	bopts := badgerOptions(dir, readOnly, opts.Logger, opts.CacheBytes)
	bopts = bopts.WithLogger(badgerLogger(opts.Logger, failed))
	// Before Badger deletes the tables its MANIFEST does not list.
	setAside, err := setAsideUnlisted(dir, bopts)
	if err != nil {
		lock.release()
		return nil, err
	}
	memLogs := false // write-ahead logs with data, left by a process that died
	minFree := opts.MinFreeBytes
	if minFree <= 0 {
		minFree = defaultMinFree
	}
	if !readOnly {
		// Opening for writes maps a new memtable log (space.go).
		probe := &Store{dir: dir, minFree: minFree}
		if err := probe.checkSpace(0); err != nil {
			lock.release()
			return nil, err
		}
		if memLogs, err = removeEmptyLogs(dir); err != nil {
			lock.release()
			return nil, err
		}
	}
	if opts.Create {
		bopts = newStoreSession(bopts)
	}
	full := bopts
	if opts.Short && !readOnly {
		bopts = shortSession(bopts, !memLogs)
	}
	merge := maintain && mergeDue(dir)
	if merge {
		bopts = mergeLevelZeroOnClose(bopts)
	}
	db, err := openBadger(bopts)
	opens := 1
	if err == nil && maintain && !merge && db.Levels()[0].NumTables >= compactL0At {
		if err = db.Close(); err == nil {
			merge, opens = true, 2
			db, err = openBadger(mergeLevelZeroOnClose(bopts))
		}
	}
	if err != nil {
		lock.release()
		return nil, err
	}
	if merge {
		bopts = mergeLevelZeroOnClose(bopts)
	}
	return &Store{db: db, lock: lock, dir: dir, minFree: minFree, quarantineMemory: quarantineMemory,
		short: opts.Short && !readOnly, settleOpts: full, mergesLevelZero: merge, badgerOpens: opens,
		badgerOpts: bopts, setAside: setAside, syncFailed: failed, recent: newRecent(opts.RecentBytes)}, nil
}

// mergeLevelZeroOnClose has Close merge level 0 into a small level (see
// mergeBaseLevelSize).
func mergeLevelZeroOnClose(bopts badger.Options) badger.Options {
	return bopts.WithCompactL0OnClose(true).WithBaseLevelSize(mergeBaseLevelSize)
}

// mergeDueFile, in the database's folder, says that the next read-write
// session should merge level 0 on Close: the session that left
// compactL0At level-0 tables wrote it, so the next one needs not open
// Badger twice to find out (an open and a close of Badger cost about as
// much as the rest of a one-document commit). It is a hint: lost, the
// next session counts the tables itself; stale, a merge of few tables is
// cheap.
const mergeDueFile = "folio-merge-level0"

func mergeDue(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, mergeDueFile))
	return err == nil
}

// openBadger turns Badger's failures, including a panic on a damaged
// table, into an error.
func openBadger(bopts badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, &badgerRefusal{fmt.Errorf("%w: %v", objects.ErrCorrupt, r)}
		}
	}()
	db, err = badger.Open(bopts)
	if err != nil {
		return nil, &badgerRefusal{err}
	}
	return db, nil
}

// checkFormat reads the format record, writing it into an empty database
// opened for writes.
func (s *Store) checkFormat() error {
	var record []byte
	empty := false
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(formatKey))
		if errors.Is(err, badger.ErrKeyNotFound) {
			it := txn.NewIterator(badger.IteratorOptions{})
			defer it.Close()
			it.Rewind()
			empty = !it.Valid()
			return nil
		}
		if err != nil {
			return err
		}
		record, err = item.ValueCopy(nil)
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("badgerstore: read format record in %s: %w", s.dir, err)
	case record == nil && empty && s.readOnly:
		return nil
	case record == nil && empty:
		// A store without a single key has nothing to misread: the write
		// of a new store's record, or a first import's load (which empties
		// the store before it writes the record again), was cut short.
		return s.writeFormat()
	case record == nil:
		return fmt.Errorf("%w: %s holds a database without a folio format record", objects.ErrUnknownFormat, s.dir)
	case olderFormat(record) && !s.readOnly:
		return s.upgradeFormat()
	case olderFormat(record):
		s.refsV1 = true
	case string(record) != formatRecord:
		return fmt.Errorf("%w: %s has store format %q, this build reads %q", objects.ErrUnknownFormat, s.dir, record, formatRecord)
	}
	return nil
}

// upgradeFormat makes a store of an older format one of formatRecord: it
// gives every ref that lacks it its check, then writes the record, so
// that in a store of formatRecord a ref without its check is damage. A
// crash between leaves a store of the older format whose refs may have
// their checks, which it reads, and which the next writable open upgrades.
func (s *Store) upgradeFormat() error {
	var refs []objects.Ref
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := []byte{refPrefix}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if len(v) == objects.IDSize {
				refs = append(refs, objects.Ref{Name: string(it.Item().Key()[1:]), ID: objects.ID(v)})
			}
		}
		return nil
	})
	if err == nil {
		err = s.writeChecks(refs)
	}
	if err != nil {
		return fmt.Errorf("badgerstore: upgrade the refs of %s to %q: %w", s.dir, formatRecord, err)
	}
	return s.writeFormat()
}

// writeChecks writes refs again, each with its check, in as many
// transactions as they take; the store's synced writes make them durable
// when it returns.
func (s *Store) writeChecks(refs []objects.Ref) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, r := range refs {
		if err := wb.Set(refKey(r.Name), encodeRef(r.Name, r.ID)); err != nil {
			return err
		}
	}
	return wb.Flush()
}

func (s *Store) writeFormat() error {
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(formatKey), []byte(formatRecord))
	})
	if err == nil {
		err = s.db.Sync()
	}
	if err != nil {
		return fmt.Errorf("badgerstore: write format record in %s: %w", s.dir, err)
	}
	return nil
}
