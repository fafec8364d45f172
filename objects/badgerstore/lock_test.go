package badgerstore

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newStoreDir creates an empty store and closes it, so that other
// processes can open it.
func newStoreDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	if err := openTemp(t, dir, Options{Create: true}).Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func wantLocked(t *testing.T, dir string, opts Options) {
	t.Helper()
	s, err := Open(dir, opts)
	if err == nil {
		s.Close()
		t.Fatalf("Open(%+v) succeeded while another process holds the store", opts)
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open(%+v): %v, want ErrLocked", opts, err)
	}
}

// TestLockedByWriter: while another process has the store open read-write,
// neither a writer nor a reader gets in; once it closes, both do.
func TestLockedByWriter(t *testing.T) {
	dir := newStoreDir(t)
	h := startHolder(t, dir, false)
	wantLocked(t, dir, Options{LockWait: 50 * time.Millisecond})
	wantLocked(t, dir, Options{ReadOnly: true})
	h.release(t)
	openTemp(t, dir, Options{}).Close()
	openTemp(t, dir, Options{ReadOnly: true}).Close()
}

// TestReadersShareLock: readers in two processes work at once, and a
// writer waits for both.
func TestReadersShareLock(t *testing.T) {
	dir := newStoreDir(t)
	h := startHolder(t, dir, true)
	s := openTemp(t, dir, Options{ReadOnly: true})
	if _, err := s.Refs(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	wantLocked(t, dir, Options{LockWait: 50 * time.Millisecond})
	s.Close()
	wantLocked(t, dir, Options{})
	h.release(t)
	openTemp(t, dir, Options{}).Close()
}

// TestLockWaitPolls: an open with a LockWait keeps trying while the other
// process holds the store, and succeeds once it lets go.
func TestLockWaitPolls(t *testing.T) {
	dir := newStoreDir(t)
	h := startHolder(t, dir, false)
	type result struct {
		s   *Store
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Open(dir, Options{LockWait: time.Minute})
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		// Whatever it is, it came too early: the store is still held.
		t.Fatalf("Open returned while another process held the store: %v", r.err)
	case <-time.After(300 * time.Millisecond):
	}
	h.release(t)
	r := <-done
	if r.err != nil {
		t.Fatalf("Open after the other process let go: %v", r.err)
	}
	r.s.Close()
}

// TestSecondProcessGetsCleanError: the second process's error is
// ErrLocked with its message, and nothing else reaches its output: no
// Badger log line, no stack trace.
func TestSecondProcessGetsCleanError(t *testing.T) {
	dir := newStoreDir(t)
	s := openTemp(t, dir, Options{})
	defer s.Close()
	out, err := helperCmd("try-open", dir, helperWait+"=100ms").CombinedOutput()
	if err != nil {
		t.Fatalf("second process: %v\n%s", err, out)
	}
	want := "error locked=true: " + ErrLocked.Error() + ": " + dir + "\n"
	if string(out) != want {
		t.Fatalf("second process printed\n%q\nwant\n%q", out, want)
	}
}

// TestSecondOpenInProcess: the lock also holds between two opens in one
// process (flock locks belong to the open file, not the process).
func TestSecondOpenInProcess(t *testing.T) {
	dir := newStoreDir(t)
	s := openTemp(t, dir, Options{})
	defer s.Close()
	wantLocked(t, dir, Options{})
	wantLocked(t, dir, Options{ReadOnly: true})
	if !strings.HasPrefix(ErrLocked.Error(), "badgerstore: repository is in use by another process") {
		t.Errorf("ErrLocked says %q", ErrLocked)
	}
}
