package badgerstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/folio-db/folio/objects"
)

// Table files the MANIFEST does not list.
//
// Badger's Open deletes every table file its MANIFEST does not name, even
// in a read-only open: a crash between writing a table and recording it
// leaves such files, and they are redundant (a flush's data is still in
// the write-ahead log Badger replays, a compaction's inputs are still
// listed). But a MANIFEST cut short (a torn write, a bad copy) lists fewer
// tables than it should, and Badger cannot tell the two apart: one 'folio
// fsck' deleted a whole repository. So before Badger opens, setAsideUnlisted
// moves every unlisted table into the folder unlistedDir, which Badger
// does not look into; after it opened, takeBackUnlisted reads them and
// deletes them only once the store holds everything they hold, putting
// back (in a read-write open) the objects only they had, each checked
// against its ID. A table whose writing a crash cut short (see neverFilled)
// holds nothing; one that cannot be read otherwise is kept.
// A store whose format record (its own, else the latest set-aside one)
// this build does not know is refused before anything is taken back, and
// so is a MANIFEST that lists a table that is gone, before anything is
// set aside. Whatever cannot be taken back (a ref or its deletion, which
// nothing can verify; an object whose value is in the value log; a
// table that cannot be read and that no crash cut short) keeps the tables set aside and is
// listed by Store.Unlisted, so that fsck reports it and a person decides.

// unlistedDir, inside the store's folder, holds the set-aside tables.
const unlistedDir = "unlisted"

// Bits of Badger's entry meta byte (unexported in badger/value.go).
const (
	badgerBitDelete       byte = 1 << 0
	badgerBitValuePointer byte = 1 << 1
)

// salvageBatch bounds the bytes of objects put back in one Put.
const salvageBatch = 8 << 20

// Unlisted is something found only in a set-aside table (one the MANIFEST
// did not list) that the store did not take back.
type Unlisted struct {
	Table string     `json:"table"`        // the set-aside file
	ID    objects.ID `json:"id,omitzero"`  // the object, or the value of Ref
	Ref   string     `json:"ref,omitzero"` // a ref's name; empty for an object
	// Deleted: the table deletes Ref, which the store keeps at ID.
	Deleted bool   `json:"deleted,omitempty"`
	Why     string `json:"why"` // what String says after where it was found
}

// String says what was found, where, and what to do; fsck prints it after
// the ID.
func (u Unlisted) String() string {
	const where = "(a table file the MANIFEST does not list)"
	switch {
	case u.Ref != "" && u.Deleted:
		return fmt.Sprintf("ref %s is deleted in %s %s %s; not applied, as nothing can verify it: "+
			"if it is right, %s, else delete the table",
			u.Ref, u.Table, where, u.Why, deleteRefAdvice(u.Ref))
	case u.Ref != "":
		return fmt.Sprintf("ref %s names this in %s %s %s; not applied, as nothing can verify it: "+
			"if it is right, %s, else delete the table",
			u.Ref, u.Table, where, u.Why, setRefAdvice(u.Ref, u.ID))
	case !u.ID.IsZero():
		return fmt.Sprintf("object found only in %s %s: %s", u.Table, where, u.Why)
	}
	return fmt.Sprintf("%s %s %s", u.Table, where, u.Why)
}

// Unlisted lists what Open found only in set-aside tables and did not take
// back. Each such table stays in the folder unlisted, and is read again by
// every Open that finds the tables changed (see takeBackUnlisted), until a
// person has dealt with it and deleted it. Unlisted reads the tables again
// (one entry per object: it may be long) and refreshes the summary.
func (s *Store) Unlisted() ([]Unlisted, error) {
	if len(s.aside) == 0 {
		return nil, nil
	}
	aside := filepath.Join(s.dir, unlistedDir)
	paths, key, err := setAsideTables(aside)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var all []Unlisted
	sum := setAsideSummary{Key: key, ReadOnly: s.readOnly}
	err = s.eachUnlisted(paths, func(path string, left []Unlisted, format bool) {
		all = append(all, left...)
		sum.Format = sum.Format || format
		sum.Tables = append(sum.Tables, countUnlisted(filepath.Base(path), left))
	})
	if err != nil {
		return nil, err
	}
	if len(sum.Tables) > 0 {
		writeSummary(aside, sum)
	}
	return all, nil
}

// SetAside counts, table by table, what Open found only in set-aside
// tables and did not take back; Unlisted lists it.
func (s *Store) SetAside() []SetAsideTable { return s.aside }

// SetAsideTable counts what one set-aside table holds that the store
// lacks.
type SetAsideTable struct {
	Table   string `json:"table"`             // the set-aside file
	Objects int    `json:"objects,omitempty"` // objects only it holds
	Refs    int    `json:"refs,omitempty"`    // refs (and deletions) later than the store's
	// Other counts the rest: the format record, damaged entries, or the
	// whole table if it cannot be read (Why says why).
	Other int    `json:"other,omitempty"`
	Why   string `json:"why,omitempty"`
}

// Entries is what the table holds that the store lacks.
func (t SetAsideTable) Entries() int { return t.Objects + t.Refs + t.Other }

func countUnlisted(table string, left []Unlisted) SetAsideTable {
	t := SetAsideTable{Table: table}
	for _, u := range left {
		switch {
		case u.Ref != "":
			t.Refs++
		case !u.ID.IsZero():
			t.Objects++
		default:
			t.Other++
			t.Why = u.Why
		}
	}
	return t
}

// summaryFile, in unlistedDir, caches the counts of SetAside.
const summaryFile = "folio-summary.json"

// setAsideSummary is summaryFile: the counts, for the tables of Key. A
// summary made by a read-only open (ReadOnly) lists objects that a
// read-write open would take back.
type setAsideSummary struct {
	Key      string          `json:"key"`
	ReadOnly bool            `json:"read_only,omitempty"`
	Format   bool            `json:"format,omitempty"` // the store's format record is only set aside
	Tables   []SetAsideTable `json:"tables"`
}

func (sum setAsideSummary) entries() int {
	n := 0
	for _, t := range sum.Tables {
		n += t.Entries()
	}
	return n
}

// tables returns the counts with each table's full path.
func (sum setAsideSummary) tables(aside string) []SetAsideTable {
	out := slices.Clone(sum.Tables)
	for i := range out {
		out[i].Table = filepath.Join(aside, out[i].Table)
	}
	return out
}

// readSummary reads summaryFile, if it is there and is for the tables of
// key.
func readSummary(aside, key string) (setAsideSummary, bool) {
	var sum setAsideSummary
	data, err := os.ReadFile(filepath.Join(aside, summaryFile))
	if err != nil || json.Unmarshal(data, &sum) != nil || sum.Key != key || len(sum.Tables) == 0 {
		return setAsideSummary{}, false
	}
	return sum, true
}

// writeSummary writes summaryFile, whole or not at all. It is a cache:
// failing to write it costs the next open a read of every table.
func writeSummary(aside string, sum setAsideSummary) {
	data, err := json.Marshal(sum)
	if err != nil {
		return
	}
	f, err := os.CreateTemp(aside, summaryFile+".*")
	if err != nil {
		return
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(aside, summaryFile))
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

// setAsideUnlisted moves the table files of dir that its MANIFEST does not
// list into unlistedDir, and reports whether that folder holds any. It
// refuses a MANIFEST that is missing or unreadable while tables exist: Badger
// would start an empty one and delete them all. A MANIFEST that a rewrite
// kept is settled first (checkKeptManifest). The usual case costs one
// read of the MANIFEST and one listing of dir.
func setAsideUnlisted(dir string, bopts badger.Options) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("badgerstore: %w", err)
	}
	if err := checkKeptManifest(dir, entries, bopts); err != nil {
		return false, err
	}
	listed, err := manifestTables(dir, bopts)
	if err != nil {
		return false, err
	}
	if err := checkListedPresent(dir, listed, entries); err != nil {
		return false, err
	}
	if !skipTableCheck {
		if err := checkListedTables(dir, listed); err != nil {
			return false, err
		}
	}
	aside, moved := false, false
	for _, e := range entries {
		if e.IsDir() {
			aside = aside || e.Name() == unlistedDir
			continue
		}
		id, ok := tableFileID(e.Name())
		if !ok {
			continue
		}
		if listed == nil {
			return false, errNoManifest(dir)
		}
		if _, ok := listed[id]; ok {
			continue
		}
		if err := moveAside(dir, e.Name(), id); err != nil {
			return false, err
		}
		moved = true
	}
	if moved {
		if err := syncDirs(filepath.Join(dir, unlistedDir), dir); err != nil {
			return false, err
		}
	}
	return aside || moved, nil
}

// checkListedPresent fails, before anything is moved, if the MANIFEST
// lists a table file that dir lacks: Badger cannot open the store, and
// setting the other tables aside would only make a MANIFEST restored from
// a backup miss them too. A MANIFEST cut back to before a session that
// merged tables lists tables that merge deleted.
func checkListedPresent(dir string, listed map[uint64]badger.TableManifest, entries []os.DirEntry) error {
	present := map[uint64]bool{}
	for _, e := range entries {
		if id, ok := tableFileID(e.Name()); ok && !e.IsDir() {
			present[id] = true
		}
	}
	var missing []string
	for id := range listed {
		if !present[id] {
			missing = append(missing, filepath.Base(table.NewFilename(id, dir)))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("%w: the MANIFEST of %s lists table files that are not there (%s): it is older than the tables "+
		"(cut short, or copied from an older store); tables set aside earlier are in %s. "+
		"Restore the MANIFEST from a backup, or clone the repository again",
		objects.ErrCorrupt, dir, strings.Join(missing, ", "), filepath.Join(dir, unlistedDir))
}

// refuseTablesWithoutManifest fails if dir, which has no MANIFEST, holds
// table files: Badger would start an empty MANIFEST and delete them.
func refuseTablesWithoutManifest(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	for _, e := range entries {
		if _, ok := tableFileID(e.Name()); ok && !e.IsDir() {
			return errNoManifest(dir)
		}
	}
	return nil
}

func errNoManifest(dir string) error {
	return fmt.Errorf("%w: %s holds table files but no MANIFEST, and opening it would delete them: "+
		"restore the MANIFEST from a backup, or clone the repository again", objects.ErrCorrupt, dir)
}

// manifestTables replays dir's MANIFEST and returns the IDs of the tables
// it lists; nil without a MANIFEST.
func manifestTables(dir string, bopts badger.Options) (map[uint64]badger.TableManifest, error) {
	name := filepath.Join(dir, badger.ManifestFilename)
	tables, _, err := replayManifest(name, bopts)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.Is(err, errUnreplayable):
		return nil, fmt.Errorf("%w: %v: restore it from a backup, or clone the repository again", objects.ErrCorrupt, err)
	}
	return tables, err
}

// tableFileID is the ID of a table file's name, as Badger reads it (and
// without its panic on a negative number).
func tableFileID(name string) (uint64, bool) {
	if strings.HasPrefix(name, "-") {
		return 0, false
	}
	return table.ParseFileID(name)
}

// moveAside moves table file name (ID id) of dir into unlistedDir, under
// the first free table name from id up. A link, then a removal: a name
// taken meanwhile is never overwritten, and a file another reader moved
// first is skipped.
func moveAside(dir, name string, id uint64) error {
	aside := filepath.Join(dir, unlistedDir)
	if err := os.MkdirAll(aside, 0o755); err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	from := filepath.Join(dir, name)
	for n := id; ; n++ {
		err := os.Link(from, table.NewFilename(n, aside))
		switch {
		case errors.Is(err, fs.ErrExist):
			continue
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return fmt.Errorf("badgerstore: set aside %s: %w", from, err)
		}
		if err := os.Remove(from); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("badgerstore: set aside %s: %w", from, err)
		}
		return nil
	}
}

func syncDirs(dirs ...string) error {
	for _, d := range dirs {
		if err := z.SyncDir(d); err != nil {
			return fmt.Errorf("badgerstore: %w", err)
		}
	}
	return nil
}

// takeBackUnlisted reads every set-aside table. Once the store holds (or,
// in a read-write open, holds again) the data of all of them, they are
// deleted; else they all stay, as one may hold the later version of a ref
// that another holds, and what the store lacks is counted by SetAside
// (listed by Unlisted) and in a warning to logger. A read-only open of
// a store whose format record is only in a set-aside table fails: nothing
// in it could be read.
//
// The counts are kept in summaryFile, keyed by the tables' names, sizes
// and times: a later open that finds the same tables reads that instead of
// every table (a read-only open; a read-write one if a read-write open,
// which takes back all it can, wrote it), so that every command after a
// cut MANIFEST does not pay for reading them all (20,000 objects: 0.2 s
// and 49 MB a command).
func (s *Store) takeBackUnlisted(logger *slog.Logger) error {
	aside := filepath.Join(s.dir, unlistedDir)
	paths, key, err := setAsideTables(aside)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // another reader took them back
	}
	if err != nil {
		return err
	}
	sum, ok := readSummary(aside, key)
	if !ok || sum.ReadOnly && !s.readOnly {
		if sum, err = s.summarise(paths, key); err != nil {
			return err
		}
		if len(sum.Tables) == 0 {
			return removeSetAside(aside, paths)
		}
		writeSummary(aside, sum)
	}
	s.aside = sum.tables(aside)
	if sum.Format {
		return fmt.Errorf("%w: %s: the MANIFEST does not list %d table files holding data this store lacks, its format "+
			"record too; they are set aside in %s. Open the repository for writing (e.g. 'folio fsck --repair') to take them back",
			objects.ErrCorrupt, s.dir, len(sum.Tables), aside)
	}
	if logger != nil {
		logger.Warn("badgerstore: tables the MANIFEST does not list hold data this store lacks; they are set aside, "+
			"'folio fsck' lists what they hold", "dir", aside, "tables", len(sum.Tables), "entries", sum.entries())
	}
	return nil
}

// setAsideTables lists the set-aside tables in aside, and the key of
// their summary: each one's name, size and modification time.
func setAsideTables(aside string) (paths []string, key string, err error) {
	entries, err := os.ReadDir(aside)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("badgerstore: %w", err)
	}
	var b strings.Builder
	for _, e := range entries {
		if _, ok := tableFileID(e.Name()); !ok || e.IsDir() {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("badgerstore: %w", err)
		}
		paths = append(paths, filepath.Join(aside, e.Name()))
		fmt.Fprintf(&b, "%s %d %d\n", e.Name(), info.Size(), info.ModTime().UnixNano())
	}
	return paths, b.String(), nil
}

// summarise reads every set-aside table, taking back what it can (in a
// read-write open), and counts what is left, table by table.
func (s *Store) summarise(paths []string, key string) (setAsideSummary, error) {
	sum := setAsideSummary{Key: key, ReadOnly: s.readOnly}
	err := s.eachUnlisted(paths, func(path string, left []Unlisted, format bool) {
		sum.Format = sum.Format || format
		sum.Tables = append(sum.Tables, countUnlisted(filepath.Base(path), left))
	})
	return sum, err
}

// eachUnlisted takes back what it can of each set-aside table and calls fn
// with what is left of each table that holds something the store lacks.
// One table's list is held at a time.
func (s *Store) eachUnlisted(paths []string, fn func(path string, left []Unlisted, format bool)) error {
	later, record := latestVersions(paths)
	if err := s.checkSetAsideFormat(record); err != nil {
		return err
	}
	for _, path := range paths {
		left, format, err := s.takeBackTable(path, later)
		if err != nil {
			return err
		}
		if len(left) > 0 {
			fn(path, left, format)
		}
	}
	return nil
}

func removeSetAside(aside string, paths []string) error {
	for _, path := range append(paths, filepath.Join(aside, summaryFile)) {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("badgerstore: %w", err)
		}
	}
	os.Remove(aside) // fails, harmlessly, if a person put something else there
	return nil
}

// latestVersions returns the latest version of each ref (a deletion too)
// and of the format record in the set-aside tables that can be read, and
// the latest format record: a ref one of them holds is not lost if another
// holds a later version, and only the latest format record is the store's.
func latestVersions(paths []string) (latest map[string]uint64, record []byte) {
	latest = map[string]uint64{}
	for _, path := range paths {
		// A table that cannot be read is takeBackTable's to report.
		readSetAside(path, func(it *table.Iterator) error {
			it.Seek(y.KeyWithTs([]byte(formatKey), math.MaxUint64))
			if it.Valid() && string(y.ParseKey(it.Key())) == formatKey && y.ParseTs(it.Key()) >= latest[formatKey] {
				latest[formatKey] = y.ParseTs(it.Key())
				record = bytes.Clone(it.Value().Value)
			}
			for it.Seek(y.KeyWithTs([]byte{refPrefix}, math.MaxUint64)); it.Valid(); it.Next() {
				key := y.ParseKey(it.Key())
				if len(key) == 0 || key[0] != refPrefix {
					break
				}
				latest[string(key)] = max(latest[string(key)], y.ParseTs(it.Key()))
			}
			return nil
		})
	}
	return latest, record
}

// checkSetAsideFormat refuses, before anything is taken back, a store
// whose format record (its own, else the latest in a set-aside table) is
// one this build does not know: putting objects back, or deleting tables,
// by this build's layout could damage it.
func (s *Store) checkSetAsideFormat(aside []byte) error {
	record := aside
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(formatKey))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err == nil {
			record, err = item.ValueCopy(nil)
		}
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("badgerstore: read format record in %s: %w", s.dir, err)
	case record != nil && !knownFormat(record):
		return fmt.Errorf("%w: %s has store format %q, this build reads %q; its set-aside tables are left in %s",
			objects.ErrUnknownFormat, s.dir, record, formatRecord, filepath.Join(s.dir, unlistedDir))
	}
	return nil
}

// takeBackTable reads one set-aside table and returns what the store lacks
// of it and could not take back; format says that includes the store's
// format record (only in a read-only open). later holds the latest version
// of each ref in all set-aside tables.
func (s *Store) takeBackTable(path string, later map[string]uint64) (left []Unlisted, format bool, err error) {
	if neverFilled(path) {
		return nil, false, nil
	}
	err = readSetAside(path, func(it *table.Iterator) error {
		var err error
		left, format, err = s.takeBackEntries(path, it, later)
		return err
	})
	var unreadable *unreadableTable
	switch {
	case errors.Is(err, errHoldsNothing):
		return nil, false, nil
	case errors.As(err, &unreadable):
		return []Unlisted{{Table: path, Why: unreadable.Error()}}, false, nil
	}
	return left, format, err
}

// takeBackEntries is takeBackTable once the table is open.
func (s *Store) takeBackEntries(path string, it *table.Iterator, later map[string]uint64) (left []Unlisted, format bool, err error) {
	var salvage []objects.Object
	var size int
	var last []byte
	// Keys come in order, the newest version of each first.
	for it.Rewind(); it.Valid(); it.Next() {
		key := y.ParseKey(it.Key())
		if bytes.Equal(key, last) {
			continue
		}
		last = append(last[:0], key...)
		v := it.Value()
		latestRef := len(key) > 0 && key[0] == refPrefix && later[string(key)] <= y.ParseTs(it.Key())
		if v.Meta&badgerBitDelete != 0 {
			if latestRef {
				lost, err := s.unlistedRefDeletion(path, key, y.ParseTs(it.Key()))
				if err != nil {
					return nil, false, err
				}
				if lost != nil {
					left = append(left, *lost)
				}
			}
			continue
		}
		var lost *Unlisted
		var put *objects.Object
		switch {
		case len(key) > 0 && key[0] == objectPrefix:
			put, lost, err = s.unlistedObject(path, key, v)
		case string(key) == formatKey && later[formatKey] <= y.ParseTs(it.Key()):
			lost, err = s.unlistedFormat(path, v)
			format = format || lost != nil
		case latestRef:
			lost, err = s.unlistedRef(path, key, y.ParseTs(it.Key()), v)
		}
		// Other keys are bookkeeping (journal, quarantine, change feed,
		// marks) that the store rebuilds or can do without.
		if err != nil {
			return nil, false, err
		}
		if lost != nil {
			left = append(left, *lost)
		}
		if put != nil {
			salvage = append(salvage, *put)
			if size += len(put.Data); size >= salvageBatch {
				if err := s.putBack(salvage); err != nil {
					return nil, false, err
				}
				salvage, size = nil, 0
			}
		}
	}
	return left, format, s.putBack(salvage)
}

// A table file is written by sizing it, then filling it from the start
// through a mapping, its checksum's length last; Badger lists it in the
// MANIFEST only once it is complete and synced, and until then keeps what
// it was made from (the write-ahead log of a flush, the inputs of a
// compaction). A process killed meanwhile leaves a file whose tail was
// never written: a hole in the file up to its end (the kernel keeps every
// page written before the kill). Such a file, or one without a byte of
// data, holds nothing the store lacks. A file whose tail holds zeros that
// were written (a bad copy, a damaged disk) is not that: it may be the
// only copy of what its blocks hold, and is kept and reported.

// neverFilled says whether the file at path is a table whose filling was
// cut short: empty, or ending in a hole (neverWritten, holes_*.go).
func neverFilled(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return false
	}
	return info.Size() == 0 || neverWritten(f, info.Size())
}

// maxChecksumLen bounds the length of a table's encoded checksum (a
// protobuf of an algorithm and a 64-bit sum).
const maxChecksumLen = 16

// openSetAside opens the set-aside table read into data, checking its
// checksums. A table whose last 4 bytes (its checksum's length) were
// zeroed is tried with each length a checksum can have: the index's
// checksum accepts only the right one.
func openSetAside(data []byte, id uint64) (*table.Table, error) {
	t, err := openTableData(data, id)
	if err == nil || len(data) < 4 || !allZero(data[len(data)-4:]) {
		return t, err
	}
	fixed := bytes.Clone(data)
	for n := range uint32(maxChecksumLen) {
		binary.BigEndian.PutUint32(fixed[len(fixed)-4:], n+1)
		if t, err := openTableData(fixed, id); err == nil {
			return t, nil
		}
	}
	return nil, err
}

// openTableData opens a set-aside table held in memory and checks the
// checksums of its blocks.
func openTableData(data []byte, id uint64) (t *table.Table, err error) {
	t, err = openTable(data, id, options.Snappy)
	if err == nil {
		err = verifyTable(t)
	}
	return t, err
}

// verifyTable checks every block's checksum, turning a panic of Badger's
// table package on some damage into an error.
func verifyTable(t *table.Table) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	return t.VerifyChecksum()
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// unreadableTable is a set-aside table that Badger's table package cannot
// read; zeros counts the zero bytes it ends in.
type unreadableTable struct {
	err         error
	size, zeros int
}

func (e *unreadableTable) Error() string {
	msg := fmt.Sprintf("cannot be read (%v)", firstLine(e.err.Error()))
	if e.zeros >= 4 {
		msg += fmt.Sprintf("; its last %d of %d bytes are zeros, as in a table whose writing a crash cut short, "+
			"but they were written, so it may be a complete table damaged since (a bad copy)", e.zeros, e.size)
	}
	return msg + ": it may hold data found nowhere else. Restore the repository from a backup, or clone it again, " +
		"and keep this file until you have; if you know it holds nothing you need, delete it"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// errHoldsNothing: a set-aside file without a byte of data.
var errHoldsNothing = errors.New("badgerstore: the file holds only zeros")

// readSetAside reads the set-aside table at path, checking its checksums,
// and calls fn with an iterator over it. The table is read into memory
// (one table, a few MB): Badger's table package panics on some damage, and
// a table opened from a mapped file closes that file itself on some
// failures only. Badger writes tables with the options of badgerOptions.
func readSetAside(path string, fn func(*table.Iterator) error) error {
	id, _ := tableFileID(path)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // another reader took it back
	}
	if err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	t, err := openSetAside(data, id)
	if err != nil {
		if allZero(data) {
			return errHoldsNothing
		}
		zeros := len(data) - len(bytes.TrimRight(data, "\x00"))
		return &unreadableTable{err: err, size: len(data), zeros: zeros}
	}
	it := t.NewIterator(0)
	defer it.Close()
	return fn(it)
}

// unlistedObject looks at an object entry of a set-aside table: nothing to
// do if the store has it, else a verified object to put back (read-write)
// or what is lost.
func (s *Store) unlistedObject(path string, key []byte, v y.ValueStruct) (*objects.Object, *Unlisted, error) {
	id, err := idFromObjectKey(key)
	if err != nil {
		return nil, &Unlisted{Table: path, Why: err.Error()}, nil
	}
	if has, err := s.Has(context.Background(), id); err != nil || has {
		return nil, nil, err
	}
	lost := &Unlisted{Table: path, ID: id}
	if v.Meta&badgerBitValuePointer != 0 {
		lost.Why = "its value is in the value log, which cannot be read without the table: fetch it again ('folio fsck --repair')"
		return nil, lost, nil
	}
	if err := objects.Verify(id, v.Value); err != nil {
		lost.Why = fmt.Sprintf("damaged there, not taken back: %v", err)
		return nil, lost, nil
	}
	switch {
	case s.readOnly:
		lost.Why = "a read-write open (such as 'folio fsck --repair') takes it back"
	default:
		return &objects.Object{ID: id, Data: bytes.Clone(v.Value)}, nil, nil
	}
	return nil, lost, nil
}

// unlistedFormat looks at the format record of a set-aside table, and
// puts it back (read-write) where the store lacks it, upgraded as
// checkFormat upgrades a store of an older format: whichever it was, the
// store lost its own, and the refs it keeps may lack their checks.
func (s *Store) unlistedFormat(path string, v y.ValueStruct) (*Unlisted, error) {
	has, err := s.hasFormat()
	switch {
	case err != nil || has:
		return nil, err
	case !knownFormat(v.Value):
		return &Unlisted{Table: path, Why: fmt.Sprintf("holds store format %q, this build reads %q", v.Value, formatRecord)}, nil
	case s.readOnly:
		return &Unlisted{Table: path, Why: "holds the store's format record: a read-write open (such as 'folio fsck --repair') takes it back"}, nil
	}
	return nil, s.upgradeFormat()
}

func (s *Store) hasFormat() (bool, error) {
	var has bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		has, err = hasKey(txn, []byte(formatKey))
		return err
	})
	return has, err
}

// setRefAdvice says how a person sets ref to id with folio's commands.
func setRefAdvice(ref string, id objects.ID) string {
	switch {
	case strings.HasPrefix(ref, objects.BranchPrefix):
		return fmt.Sprintf("set it with 'folio branch -f %s %s'", strings.TrimPrefix(ref, objects.BranchPrefix), id)
	case strings.HasPrefix(ref, objects.TagPrefix):
		tag := strings.TrimPrefix(ref, objects.TagPrefix)
		return fmt.Sprintf("set it with 'folio tag %s %s' (after 'folio tag -d %s' if the tag exists)", tag, id, tag)
	case strings.HasPrefix(ref, objects.RemotePrefix):
		return "'folio fetch' brings the remote's branches up to date"
	case strings.HasPrefix(ref, objects.WorkingSetPrefix):
		return fmt.Sprintf("those staged changes of %s are working set %s; no command stages them back: stage them again",
			strings.TrimPrefix(ref, objects.WorkingSetPrefix), id)
	}
	return "set the ref by hand"
}

// deleteRefAdvice says how a person deletes ref with folio's commands.
func deleteRefAdvice(ref string) string {
	switch {
	case strings.HasPrefix(ref, objects.BranchPrefix):
		return fmt.Sprintf("delete it with 'folio branch -D %s'", strings.TrimPrefix(ref, objects.BranchPrefix))
	case strings.HasPrefix(ref, objects.TagPrefix):
		return fmt.Sprintf("delete it with 'folio tag -d %s'", strings.TrimPrefix(ref, objects.TagPrefix))
	case strings.HasPrefix(ref, objects.RemotePrefix):
		return "'folio fetch' brings the remote's branches up to date"
	case strings.HasPrefix(ref, objects.WorkingSetPrefix):
		return fmt.Sprintf("drop those staged changes of %s with 'folio reset' on that branch",
			strings.TrimPrefix(ref, objects.WorkingSetPrefix))
	}
	return "delete the ref by hand"
}

// unlistedRef looks at a ref entry (written at version) of a set-aside
// table. A ref is never put back: nothing says which commit it should name.
// It is lost if the store has an older version of it, or none, that differs.
func (s *Store) unlistedRef(path string, key []byte, version uint64, v y.ValueStruct) (*Unlisted, error) {
	name := string(key[1:])
	// A set-aside table may be older than the store's upgrade to format 3.
	id, err := refValue(name, v.Value, true)
	if err != nil {
		return &Unlisted{Table: path, Ref: name, Why: err.Error()}, nil
	}
	var lost *Unlisted
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{AllVersions: true})
		defer it.Close()
		it.Seek(key)
		if !it.Valid() || !bytes.Equal(it.Item().Key(), key) {
			lost = &Unlisted{Table: path, Ref: name, ID: id, Why: "and the store has no such ref"}
			return nil
		}
		item := it.Item()
		if item.Version() >= version {
			return nil // the store's is newer
		}
		if item.IsDeletedOrExpired() {
			lost = &Unlisted{Table: path, Ref: name, ID: id, Why: "later than the store deleted it"}
			return nil
		}
		have, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		// Compared as IDs: one of them may be of format 1, without a check.
		if haveID, err := refValue(name, have, true); err == nil && haveID == id {
			return nil
		}
		lost = &Unlisted{Table: path, Ref: name, ID: id, Why: "later than the store's " + describeRefValue(name, have)}
		return nil
	})
	return lost, err
}

// unlistedRefDeletion looks at the deletion of a ref (at version) in a
// set-aside table: it is lost if the store still has an older version of
// the ref that names a commit.
func (s *Store) unlistedRefDeletion(path string, key []byte, version uint64) (*Unlisted, error) {
	name := string(key[1:])
	var lost *Unlisted
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) || err == nil && item.Version() >= version {
			return nil
		}
		if err != nil {
			return err
		}
		have, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		id, _ := refValue(name, have, true)
		lost = &Unlisted{Table: path, Ref: name, ID: id, Deleted: true, Why: "later than the store kept it"}
		return nil
	})
	return lost, err
}

// putBack puts salvaged objects back into the store.
func (s *Store) putBack(objs []objects.Object) error {
	if len(objs) == 0 {
		return nil
	}
	if err := s.Put(context.Background(), objs...); err != nil {
		return fmt.Errorf("badgerstore: take back objects from a set-aside table: %w", err)
	}
	return nil
}

func describeRefValue(name string, v []byte) string {
	id, err := refValue(name, v, true)
	if err != nil {
		return err.Error()
	}
	return id.String()
}
