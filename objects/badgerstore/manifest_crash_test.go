package badgerstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

const manifestStopAt = "BADGERSTORE_MANIFEST_STOP"

func init() { helpers["manifest-rewrite"] = runManifestRewrite }

// runManifestRewrite is the "manifest-rewrite" helper: one short session
// that writes an object, moves main to it and closes, rewriting the
// MANIFEST; it prints each step of the rewrite and stops for good at the
// one named by manifestStopAt, to be killed there.
func runManifestRewrite(dir string) error {
	manifestRewriteAt = 256
	stop := os.Getenv(manifestStopAt)
	manifestRewriteStep = func(step string) {
		fmt.Println(step)
		if step == stop {
			select {}
		}
	}
	ctx := context.Background()
	s, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	o := killedSessionObject()
	cur, err := s.Ref(ctx, "refs/heads/main")
	if err != nil {
		return err
	}
	if err := s.Put(ctx, o); err != nil {
		return err
	}
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", Old: cur, New: o.ID}); err != nil {
		return err
	}
	return s.Close()
}

func killedSessionObject() objects.Object { return objects.EncodeBlob([]byte("the killed session")) }

// checkSessions fails unless the store in dir holds the object of each of
// n sessions, and main names want, with nothing set aside.
func checkSessions(t *testing.T, dir string, n int, want objects.ID, opts Options) {
	t.Helper()
	s := openTemp(t, dir, opts)
	defer s.Close()
	for session := range n {
		id := objects.EncodeBlob(fmt.Appendf(nil, "session %d", session)).ID
		if has, err := s.Has(t.Context(), id); err != nil || !has {
			t.Fatalf("object of session %d: %v, %v", session, has, err)
		}
	}
	if got, err := s.Ref(t.Context(), "refs/heads/main"); err != nil || got != want {
		t.Fatalf("main is %s (%v), want %s", got.Short(), err, want.Short())
	}
	if u, err := s.Unlisted(); err != nil || len(u) != 0 {
		t.Fatalf("set aside: %v (%v)", u, err)
	}
}

// TestManifestRewriteKilled kills a process at each step of its MANIFEST
// rewrite (kill -9). Until it is killed, a read-only open is refused
// (the lock keeps readers out of a rewrite); after, the store opens with
// every object and ref, and nothing set aside.
func TestManifestRewriteKilled(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills processes")
	}
	const sessions = 20
	for _, step := range []string{"replayed", "half-written", "checked", "renamed"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			dir := newStoreDir(t)
			last := shortSessions(t, dir, sessions, nil)
			if info, err := os.Stat(filepath.Join(dir, badger.ManifestFilename)); err != nil || info.Size() <= 256 {
				t.Fatalf("MANIFEST %v, %v: want one the helper rewrites", info, err)
			}
			cmd := helperCmd("manifest-rewrite", dir, manifestStopAt+"="+step)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			sc := bufio.NewScanner(out)
			for sc.Scan() && sc.Text() != step {
			}
			if sc.Text() != step {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("the helper never reached %s", step)
			}
			// Badger is closed, but the lock still keeps readers out.
			if s, err := Open(dir, Options{ReadOnly: true}); !errors.Is(err, ErrLocked) {
				if err == nil {
					s.Close()
				}
				t.Fatalf("a reader opened during the rewrite: %v", err)
			}
			cmd.Process.Kill()
			cmd.Wait()
			info, err := os.Stat(filepath.Join(dir, badger.ManifestFilename))
			if err != nil || (info.Size() <= 256) != (step == "renamed") {
				t.Fatalf("MANIFEST after a kill at %s: %v, %v", step, info, err)
			}
			checkSessions(t, dir, sessions, killedSessionObject().ID, Options{})
			if last == killedSessionObject().ID {
				t.Fatal("the helper's object is a session's")
			}
			checkSessions(t, dir, sessions, killedSessionObject().ID, Options{ReadOnly: true})
		})
	}
}

// TestRewrittenManifestCutShort: a disk that loses the end of a rewritten
// MANIFEST (a torn write that a lying fsync hid) leaves its one change
// set unreadable, so it lists no table at all where an appended MANIFEST
// would lose its last change sets only. The store must still open with
// every object (unlisted.go sets every table aside and takes the objects
// back) and list main's lost value in Unlisted, for a person to set.
func TestRewrittenManifestCutShort(t *testing.T) {
	defer func(at int64) { manifestRewriteAt = at }(manifestRewriteAt)
	manifestRewriteAt = 256
	const sessions = 20
	dir := newStoreDir(t)
	last := shortSessions(t, dir, sessions, nil)
	manifestRewriteAt = 0 // this Close rewrites whatever the size
	if err := openTemp(t, dir, Options{}).Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, badger.ManifestFilename)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := badger.ReplayManifestFile(f, 0, badger.DefaultOptions(dir))
	f.Close()
	info, serr := os.Stat(path)
	if err != nil || serr != nil || len(m.Tables) == 0 {
		t.Fatalf("the rewritten MANIFEST: %v, %v, %d tables", err, serr, len(m.Tables))
	}
	if err := os.Truncate(path, manifestHeaderSize+8+(info.Size()-manifestHeaderSize-8)/2); err != nil {
		t.Fatal(err)
	}
	s := openTemp(t, dir, Options{})
	defer s.Close()
	for session := range sessions {
		id := objects.EncodeBlob(fmt.Appendf(nil, "session %d", session)).ID
		if has, err := s.Has(t.Context(), id); err != nil || !has {
			t.Fatalf("object of session %d: %v, %v", session, has, err)
		}
	}
	got, err := s.Ref(t.Context(), "refs/heads/main")
	unlisted, uerr := s.Unlisted()
	if uerr != nil {
		t.Fatal(uerr)
	}
	listed := false
	for _, u := range unlisted {
		listed = listed || u.Ref == "refs/heads/main" && u.ID == last
	}
	if got != last && !listed {
		t.Fatalf("main is %s (%v) and Unlisted %v does not name %s", got.Short(), err, unlisted, last.Short())
	}
}
