package badgerstore

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/folio-db/folio/objects"
)

// TestValueLogSyncFailureFailsWrites: when Badger cannot sync its value
// log it only logs the error, and the write it was part of returns
// success. The store takes that report as fatal: the Put fails, and so
// does every write after it (a second fsync would report success, the
// data still lost), until the store is opened again; reads go on.
func TestValueLogSyncFailureFailsWrites(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "store")
	s := openTemp(t, dir, Options{Create: true})
	before := docBlob(1)
	if err := s.Put(ctx, before); err != nil {
		t.Fatal(err)
	}
	// What Badger's valueLog.write does when the sync fails.
	s.badgerOpts.Logger.Errorf("Error while curlf sync: %v\n", syscall.EIO)

	if err := s.Put(ctx, docBlob(2)); !errors.Is(err, ErrSyncFailed) {
		t.Errorf("Put after a failed sync: %v, want ErrSyncFailed", err)
	}
	err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", New: before.ID})
	if !errors.Is(err, ErrSyncFailed) || !strings.Contains(err.Error(), "input/output error") {
		t.Errorf("UpdateRefs after a failed sync: %v, want ErrSyncFailed naming the cause", err)
	}
	if _, err := s.Get(ctx, before.ID); err != nil {
		t.Errorf("Get after a failed sync: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTemp(t, dir, Options{})
	defer s.Close()
	if err := s.Put(ctx, docBlob(2)); err != nil {
		t.Errorf("Put after reopening: %v", err)
	}
}

// TestBadgerReportsValueLogSyncFailuresAsWeMatch pins the message the
// store watches for in Badger's source: a Badger that words it otherwise
// would fail no write on a failed sync.
func TestBadgerReportsValueLogSyncFailuresAsWeMatch(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/dgraph-io/badger/v4").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "value.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte(`Errorf("`+valueLogSyncFailed)) {
		t.Errorf("Badger's value.go no longer logs %q", valueLogSyncFailed)
	}
}

// TestSyncFailureDuringACommitFailsIt: a value-log sync that fails while
// a ref update or a quarantine's promotion commits (the sync of that very
// commit) fails that call too, not only the writes after it: a commit
// reported durable may not be on disk. Failed before: both returned nil.
func TestSyncFailureDuringACommitFailsIt(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	failSync := func(s *Store) func() {
		return func() { s.badgerOpts.Logger.Errorf("Error while curlf sync: %v\n", syscall.EIO) }
	}

	s := openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
	defer s.Close()
	if err := s.Put(ctx, docBlob(1)); err != nil {
		t.Fatal(err)
	}
	s.beforeRefCommit = failSync(s)
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", New: docBlob(1).ID}); !errors.Is(err, ErrSyncFailed) {
		t.Errorf("UpdateRefs whose commit's sync failed: %v, want ErrSyncFailed", err)
	}

	s2 := openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
	defer s2.Close()
	q, err := s2.Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Put(ctx, docBlob(2)); err != nil {
		t.Fatal(err)
	}
	fail := failSync(s2)
	keep := func(objects.ID) bool { fail(); return true }
	if err := q.Promote(ctx, keep, objects.RefUpdate{Name: "refs/heads/main", New: docBlob(2).ID}); !errors.Is(err, ErrSyncFailed) {
		t.Errorf("Promote whose commit's sync failed: %v, want ErrSyncFailed", err)
	}
}

// TestNoManifestRewriteAfterAFailedSync: Close rewrites no MANIFEST (see
// compactManifest) in a session whose disk failed a sync: nothing more is
// written to a disk that lost writes.
func TestNoManifestRewriteAfterAFailedSync(t *testing.T) {
	defer func(at int64) { manifestRewriteAt = at }(manifestRewriteAt)
	manifestRewriteAt = math.MaxInt64
	dir := newStoreDir(t)
	shortSessions(t, dir, 20, nil)
	path := filepath.Join(dir, badger.ManifestFilename)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	manifestRewriteAt = 0 // any Close would rewrite it
	s := openTemp(t, dir, Options{})
	s.badgerOpts.Logger.Errorf("Error while curlf sync: %v\n", syscall.EIO)
	s.Close()
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(after, before) {
		t.Errorf("the MANIFEST was rewritten (%d bytes, was %d) after a failed sync", len(after), len(before))
	}
}
