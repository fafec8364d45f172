package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// TestOpenMissing: without Create, a missing store is objects.ErrNotFound
// and Open creates nothing, whether the folder is absent or empty.
func TestOpenMissing(t *testing.T) {
	root := t.TempDir()
	absent := filepath.Join(root, "absent")
	for _, opts := range []Options{{}, {ReadOnly: true}} {
		if _, err := Open(absent, opts); !errors.Is(err, objects.ErrNotFound) {
			t.Errorf("Open(absent, %+v): %v, want objects.ErrNotFound", opts, err)
		}
		if _, err := os.Stat(absent); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Open(absent, %+v) created the folder: %v", opts, err)
		}
		if _, err := Open(root, opts); !errors.Is(err, objects.ErrNotFound) {
			t.Errorf("Open(empty folder, %+v): %v, want objects.ErrNotFound", opts, err)
		}
		if entries, _ := os.ReadDir(root); len(entries) != 0 {
			t.Errorf("Open(empty folder, %+v) created %v", opts, entries)
		}
	}
}

func TestCreateAndReadOnlyExclude(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	if _, err := Open(dir, Options{Create: true, ReadOnly: true}); err == nil {
		t.Fatal("Open with Create and ReadOnly succeeded")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused Open created the folder: %v", err)
	}
}

// TestReopen: what one open wrote, the next reads, read-write or
// read-only; a read-only store refuses writes. Objects past the value
// threshold (kept in Badger's value log) come back too.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "store")
	small := docBlob(1)
	large := objects.EncodeBlob(bytes.Repeat([]byte("large object in the value log "), (valueThreshold+1000)/30))
	s := openTemp(t, dir, Options{Create: true})
	if err := s.Put(ctx, small, large); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", New: small.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	for _, opts := range []Options{{}, {ReadOnly: true}, {Create: true}} {
		s := openTemp(t, dir, opts)
		for _, o := range []objects.Object{small, large} {
			if data, err := s.Get(ctx, o.ID); err != nil || !bytes.Equal(data, o.Data) {
				t.Errorf("after reopening with %+v, Get(%s) = %d bytes, %v", opts, o.ID.Short(), len(data), err)
			}
		}
		if id, err := s.Ref(ctx, "refs/heads/main"); err != nil || id != small.ID {
			t.Errorf("after reopening with %+v, Ref = %s, %v", opts, id.Short(), err)
		}
		if opts.ReadOnly {
			if err := s.Put(ctx, docBlob(2)); !errors.Is(err, ErrReadOnly) {
				t.Errorf("Put on a read-only store: %v, want ErrReadOnly", err)
			}
			err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", Old: small.ID, New: large.ID})
			if !errors.Is(err, ErrReadOnly) {
				t.Errorf("UpdateRefs on a read-only store: %v, want ErrReadOnly", err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// rawBadger opens dir with Badger directly, as another program might.
// Badger closes its directory lock without unlocking it, so a helper
// process that a parallel test forks holds it until it execs: the open
// is retried for a while.
func rawBadger(t *testing.T, dir string, readOnly bool) (*badger.DB, error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithReadOnly(readOnly))
		if err == nil || !strings.Contains(err.Error(), "Cannot acquire directory lock") || time.Now().After(deadline) {
			return db, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func setRaw(t *testing.T, dir, key, value string) {
	t.Helper()
	db, err := rawBadger(t, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(key), []byte(value)) }); err != nil {
		t.Fatal(err)
	}
}

// TestFormatRecord: a new store records its format; a store with another
// format record, or a Badger database without one, is refused with
// objects.ErrUnknownFormat, even with Create.
func TestFormatRecord(t *testing.T) {
	dir := newStoreDir(t)
	db, err := rawBadger(t, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	var record []byte
	err = db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(formatKey))
		if err == nil {
			record, err = item.ValueCopy(nil)
		}
		return err
	})
	db.Close()
	if err != nil || string(record) != "folio-store 3" {
		t.Fatalf("format record of a new store: %q, %v", record, err)
	}

	setRaw(t, dir, formatKey, "folio-store 4")
	foreign := filepath.Join(t.TempDir(), "foreign")
	setRaw(t, foreign, "some key", "some value")
	for _, d := range []string{dir, foreign} {
		for _, opts := range []Options{{}, {ReadOnly: true}, {Create: true}} {
			s, err := Open(d, opts)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, objects.ErrUnknownFormat) {
				t.Errorf("Open(%s, %+v): %v, want objects.ErrUnknownFormat", filepath.Base(d), opts, err)
			}
		}
	}
}

// TestFormatV1Upgrade: a store of the first format, whose refs hold an
// ID without a check, reads as before, read-only too; its first writable
// open rewrites the format record, and refs it writes from then on carry
// their check while the old ones still read. So does a store of format
// 2, whose upgrade from format 1 left such refs.
func TestFormatV1Upgrade(t *testing.T) {
	t.Parallel()
	for _, older := range []string{formatRecordV1, formatRecordV2} {
		t.Run(older, func(t *testing.T) {
			t.Parallel()
			testOlderFormatUpgrade(t, older)
		})
	}
}

func testOlderFormatUpgrade(t *testing.T, older string) {
	ctx := t.Context()
	dir := newStoreDir(t)
	old, moved := docBlob(1).ID, docBlob(2).ID
	s := openTemp(t, dir, Options{Create: true})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	setRaw(t, dir, formatKey, older)
	setRaw(t, dir, string(refKey("refs/heads/main")), string(old[:]))
	setRaw(t, dir, string(refKey("refs/heads/dev")), string(old[:]))

	record := func() string {
		db, err := rawBadger(t, dir, false)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var v []byte
		if err := db.View(func(txn *badger.Txn) error {
			item, err := txn.Get([]byte(formatKey))
			if err == nil {
				v, err = item.ValueCopy(nil)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	s = openTemp(t, dir, Options{ReadOnly: true})
	if id, err := s.Ref(ctx, "refs/heads/main"); err != nil || id != old {
		t.Errorf("read-only Ref of a V1 store: %v, %v", id, err)
	}
	s.Close()
	if r := record(); r != older {
		t.Fatalf("a read-only open rewrote the format record: %q", r)
	}
	s = openTemp(t, dir, Options{})
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", Old: old, New: moved}); err != nil {
		t.Fatal(err)
	}
	refs, err := s.Refs(ctx, "")
	if err != nil || len(refs) != 2 || refs[0].ID != old || refs[1].ID != moved {
		t.Errorf("refs after the upgrade: %v, %v", refs, err)
	}
	s.Close()
	if r := record(); r != formatRecord {
		t.Errorf("format record after a writable open: %q, want %q", r, formatRecord)
	}
}

// TestFormatV1UpgradeOfManyRefs: the upgrade gives its check to every
// ref of a store of format 1, more than one transaction holds (60,000
// tags, in a short session's small memtable), and they all read.
func TestFormatV1UpgradeOfManyRefs(t *testing.T) {
	t.Parallel()
	const tags = 60000
	dir := newStoreDir(t)
	db, err := rawBadger(t, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	id := docBlob(1).ID
	wb := db.NewWriteBatch()
	err = wb.Set([]byte(formatKey), []byte(formatRecordV1))
	for i := range tags {
		err = errors.Join(err, wb.Set(refKey(fmt.Sprintf("refs/tags/t%06d", i)), id[:]))
	}
	if err := errors.Join(err, wb.Flush(), db.Close()); err != nil {
		t.Fatal(err)
	}
	s := openTemp(t, dir, Options{Short: true})
	defer s.Close()
	if s.refsV1 {
		t.Fatal("a writable open left the store of format 1")
	}
	refs, err := s.Refs(t.Context(), "")
	if err != nil || len(refs) != tags {
		t.Fatalf("Refs after the upgrade: %d refs, %v; want %d", len(refs), err, tags)
	}
}

// TestShortSessionAfterUncleanShutdown: a short session (Options.Short)
// has a small memtable, too small to replay the write-ahead log of a full
// one that a process left when it died; Open then keeps the full size, and
// everything that process put is there.
func TestShortSessionAfterUncleanShutdown(t *testing.T) {
	t.Parallel()
	dir := newStoreDir(t)
	if out, err := helperCmd("unclean-large", dir).CombinedOutput(); err != nil {
		t.Fatalf("writer: %v\n%s", err, out)
	}
	s := openTemp(t, dir, Options{Short: true})
	for _, o := range largeUncleanObjects() {
		if has, err := s.Has(t.Context(), o.ID); err != nil || !has {
			t.Fatalf("object %s after the unclean shutdown: %v, %v", o.ID.Short(), has, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadOnlyAfterUncleanShutdown: Badger refuses a read-only open of a
// database whose writer died without closing it; Open then falls back to
// a read-write open, which replays the log, and the store still refuses
// writes. The next read-only open needs no fallback.
func TestReadOnlyAfterUncleanShutdown(t *testing.T) {
	dir := newStoreDir(t)
	if out, err := helperCmd("unclean", dir).CombinedOutput(); err != nil {
		t.Fatalf("writer: %v\n%s", err, out)
	}
	if db, err := rawBadger(t, dir, true); err == nil {
		db.Close()
		t.Fatal("Badger opened the uncleanly closed database read-only: this test no longer tests the fallback")
	}

	s := openTemp(t, dir, Options{ReadOnly: true})
	o := uncleanObject()
	if id, err := s.Ref(t.Context(), "refs/heads/main"); err != nil || id != o.ID {
		t.Errorf("Ref after the unclean shutdown = %s, %v", id.Short(), err)
	}
	if err := s.Put(t.Context(), docBlob(1)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Put on a read-only store opened read-write underneath: %v, want ErrReadOnly", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := rawBadger(t, dir, true)
	if err != nil {
		t.Fatalf("read-only open after the fallback repaired the store: %v", err)
	}
	db.Close()
}

func TestClosedStore(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := t.Context()
	if _, err := s.Get(ctx, docBlob(1).ID); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if err := s.Put(ctx, docBlob(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Refs(ctx, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Refs after Close: %v, want ErrClosed", err)
	}
}

func TestPutTooLarge(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
	defer s.Close()
	huge := objects.Object{ID: docBlob(1).ID, Data: make([]byte, MaxObjectSize+1)}
	if err := s.Put(t.Context(), docBlob(2), huge); !errors.Is(err, objects.ErrTooLarge) {
		t.Fatalf("Put of %d bytes: %v, want objects.ErrTooLarge", len(huge.Data), err)
	}
	if has, _ := s.Has(t.Context(), docBlob(2).ID); has {
		t.Error("a Put refused for size stored part of its objects")
	}
}

// TestLogger: Badger's errors reach Options.Logger as slog errors; its
// warnings and chatter do not.
func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	l := badgerLogger(slog.New(slog.NewTextHandler(&buf, nil)), nil)
	l.Errorf("disk on fire: %d\n", 42)
	l.Warningf("cache might be too small")
	l.Infof("replaying")
	l.Debugf("details")
	got := buf.String()
	if !strings.Contains(got, "level=ERROR") || !strings.Contains(got, `msg="badger: disk on fire: 42"`) || strings.Count(got, "\n") != 1 {
		t.Errorf("logged %q, want only the error", got)
	}
	if badgerLogger(nil, nil) != nil {
		t.Error("a nil slog.Logger must give Badger a nil logger (silence)")
	}
}

// TestBlockCacheSizes: a read-only open keeps the smallest block cache, a
// read-write one the short command's default, and a size asked for wins
// either way.
func TestBlockCacheSizes(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	s := openTemp(t, dir, Options{Create: true})
	if got := s.db.Opts().BlockCacheSize; got != blockCacheSize {
		t.Errorf("read-write open: block cache %d, want %d", got, blockCacheSize)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts Options
		want int64
	}{
		{Options{ReadOnly: true}, readOnlyCacheSize},
		{Options{ReadOnly: true, CacheBytes: 64 << 20}, 64 << 20},
		{Options{CacheBytes: 64 << 20}, 64 << 20},
	} {
		s := openTemp(t, dir, c.opts)
		if got := s.db.Opts().BlockCacheSize; got != c.want {
			t.Errorf("open with %+v: block cache %d, want %d", c.opts, got, c.want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
