package badgerstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/table"

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
	for _, step := range []string{"replayed", "half-written", "checked", "kept", "renamed"} {
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
			if kept := keptCopies(t, dir); len(kept) != 0 {
				t.Errorf("kept MANIFESTs %v after an open", kept)
			}
			if last == killedSessionObject().ID {
				t.Fatal("the helper's object is a session's")
			}
			checkSessions(t, dir, sessions, killedSessionObject().ID, Options{ReadOnly: true})
		})
	}
}

// rewrittenStore returns a store that sessions sessions wrote, whose
// last Close rewrote the MANIFEST, and main's value.
func rewrittenStore(t *testing.T, sessions int) (dir string, main objects.ID) {
	t.Helper()
	defer func(at int64) { manifestRewriteAt = at }(manifestRewriteAt)
	manifestRewriteAt = 256
	dir = newStoreDir(t)
	main = shortSessions(t, dir, sessions, nil)
	manifestRewriteAt = 0 // this Close rewrites whatever the size
	if err := openTemp(t, dir, Options{}).Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(replayTables(t, filepath.Join(dir, badger.ManifestFilename))); n == 0 {
		t.Fatal("the rewritten MANIFEST lists no table")
	}
	return dir, main
}

// replayTables returns the tables the MANIFEST file at path lists.
func replayTables(t *testing.T, path string) map[uint64]badger.TableManifest {
	t.Helper()
	tables, _, err := replayManifest(path, badger.DefaultOptions(filepath.Dir(path)))
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

// manifestDamage is what a disk that lies about its syncs may leave of a
// MANIFEST file.
var manifestDamage = map[string]func(t *testing.T, path string){
	"cut in half": func(t *testing.T, path string) {
		size := fileSize(t, path)
		truncate(t, path, manifestHeaderSize+8+(size-manifestHeaderSize-8)/2)
	},
	"cut to its header": func(t *testing.T, path string) { truncate(t, path, manifestHeaderSize) },
	"empty":             func(t *testing.T, path string) { truncate(t, path, 0) },
	"zeros": func(t *testing.T, path string) {
		if err := os.WriteFile(path, make([]byte, fileSize(t, path)), 0o600); err != nil {
			t.Fatal(err)
		}
	},
	"zeros after its header": func(t *testing.T, path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		clear(data[manifestHeaderSize:])
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	},
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// TestRewrittenManifestCutShort: a disk that loses the content of a
// rewritten MANIFEST (a torn write that a lying fsync hid) while its
// rename is durable leaves its one change set unreadable, so it lists no
// table at all where an appended MANIFEST would lose its last change sets
// only. The rewrite keeps the MANIFEST it replaced until an open finds
// the new one whole, so the next open, read-only or not, goes back to it:
// every object and ref is there, nothing is set aside.
func TestRewrittenManifestCutShort(t *testing.T) {
	const sessions = 20
	src, main := rewrittenStore(t, sessions)
	for name, damage := range manifestDamage {
		for _, opts := range []Options{{}, {ReadOnly: true}} {
			t.Run(fmt.Sprintf("%s/readonly=%t", name, opts.ReadOnly), func(t *testing.T) {
				t.Parallel()
				dir := copyStore(t, src)
				damage(t, filepath.Join(dir, badger.ManifestFilename))
				checkSessions(t, dir, sessions, main, opts)
				checkSessions(t, dir, sessions, main, Options{})
			})
		}
	}
}

// copyStore copies the store in src into a new folder.
func copyStore(t *testing.T, src string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// keptCopies returns the paths of the MANIFESTs a rewrite kept in dir.
func keptCopies(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, keptManifestPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// TestKeptManifestDamaged: the MANIFEST a rewrite kept may be what the
// disk lost instead. A rewritten MANIFEST that is whole is used, whatever
// the kept copy holds, and the copy removed; where both are damaged, the
// open still succeeds with every object, and main is set or listed in
// Unlisted for a person to set (as after any cut MANIFEST).
func TestKeptManifestDamaged(t *testing.T) {
	const sessions = 20
	src, main := rewrittenStore(t, sessions)
	if n := len(keptCopies(t, src)); n != 1 {
		t.Fatalf("%d kept MANIFESTs after a rewrite, want 1", n)
	}
	for name, damage := range manifestDamage {
		t.Run("kept "+name, func(t *testing.T) {
			t.Parallel()
			dir := copyStore(t, src)
			damage(t, keptCopies(t, dir)[0])
			checkSessions(t, dir, sessions, main, Options{ReadOnly: true})
			if kept := keptCopies(t, dir); len(kept) != 0 {
				t.Errorf("kept MANIFESTs %v after an open found the rewritten one whole", kept)
			}
			checkSessions(t, dir, sessions, main, Options{})
		})
		t.Run("both "+name, func(t *testing.T) {
			t.Parallel()
			dir := copyStore(t, src)
			damage(t, keptCopies(t, dir)[0])
			manifestDamage["cut to its header"](t, filepath.Join(dir, badger.ManifestFilename))
			checkObjectsOrListed(t, dir, sessions, main)
		})
	}
}

// checkObjectsOrListed fails unless the store in dir opens for writing
// with the object of each of n sessions, and main names want or Unlisted
// lists it there.
func checkObjectsOrListed(t *testing.T, dir string, n int, want objects.ID) {
	t.Helper()
	s := openTemp(t, dir, Options{})
	defer s.Close()
	for session := range n {
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
		listed = listed || u.Ref == "refs/heads/main" && u.ID == want
	}
	if got != want && !listed {
		t.Fatalf("main is %s (%v) and Unlisted %v does not name %s", got.Short(), err, unlisted, want.Short())
	}
}

// TestStaleKeptManifestIsNotPutBack: a disk that lost the removal of a
// kept MANIFEST brings it back after later sessions changed the tables
// (merges deleted some it lists). The MANIFEST still starts with the
// rewrite's change set, whole, so the open keeps it and removes the
// stale copy: nothing of those sessions is lost.
func TestStaleKeptManifestIsNotPutBack(t *testing.T) {
	const sessions = 20
	dir, main := rewrittenStore(t, sessions)
	kept := keptCopies(t, dir)[0]
	stale, err := os.ReadFile(kept)
	if err != nil {
		t.Fatal(err)
	}
	for session := range sessions { // small sessions: none rewrites the MANIFEST
		s := openTemp(t, dir, Options{})
		o := objects.EncodeBlob(fmt.Appendf(nil, "session %d after the rewrite", session))
		if err := s.Put(t.Context(), o); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: "refs/heads/main", Old: main, New: o.ID}); err != nil {
			t.Fatal(err)
		}
		main = o.ID
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(kept, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	checkSessions(t, dir, sessions, main, Options{ReadOnly: true})
	if kept := keptCopies(t, dir); len(kept) != 0 {
		t.Errorf("kept MANIFESTs %v after an open", kept)
	}
}

// TestKeptManifestListingMoreIsNotPutBack: a kept MANIFEST that lists
// more tables than the MANIFEST, all there, is still not put back over
// one that starts with the rewrite's change set, whole: a table left by a
// merge a kill cut short before it deleted its inputs counts as much as
// any. Here the kept copy lists every table but the newest, which holds
// main's latest value, and two copies of the oldest.
func TestKeptManifestListingMoreIsNotPutBack(t *testing.T) {
	const sessions = 20
	dir, main := rewrittenStore(t, sessions)
	tables, header, err := replayManifest(filepath.Join(dir, badger.ManifestFilename), badger.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	ids := slices.Sorted(maps.Keys(tables))
	newest, oldest := ids[len(ids)-1], ids[0]
	more := maps.Clone(tables)
	delete(more, newest)
	data, err := os.ReadFile(table.NewFilename(oldest, dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{newest + 1, newest + 2} {
		if err := os.WriteFile(table.NewFilename(id, dir), data, 0o644); err != nil {
			t.Fatal(err)
		}
		more[id] = tables[oldest]
	}
	kept := keptCopies(t, dir)[0]
	if err := os.Remove(kept); err != nil {
		t.Fatal(err)
	}
	if err := writeManifest(kept, header, more); err != nil {
		t.Fatal(err)
	}
	s := openTemp(t, dir, Options{})
	defer s.Close()
	if got, err := s.Ref(t.Context(), "refs/heads/main"); err != nil || got != main {
		t.Fatalf("main is %s (%v), want %s", got.Short(), err, main.Short())
	}
}

// TestManifestNotRewrittenWithoutKeptCopy: where the old MANIFEST cannot
// be kept (no hard link: here, a folder takes the name once the new file
// is checked), Close leaves the MANIFEST as it is rather than replace it
// with nothing kept, and fails nothing.
func TestManifestNotRewrittenWithoutKeptCopy(t *testing.T) {
	defer func(at int64) { manifestRewriteAt = at }(manifestRewriteAt)
	manifestRewriteAt = 1 << 20
	const sessions = 20
	dir := newStoreDir(t)
	main := shortSessions(t, dir, sessions, nil)
	defer func() { manifestRewriteStep = nil }()
	manifestRewriteStep = func(step string) {
		if step != "checked" {
			return
		}
		set, ok := firstChangeSet(filepath.Join(dir, manifestRewriteName))
		if !ok {
			t.Error("no change set in the rewritten MANIFEST")
		}
		if err := os.Mkdir(filepath.Join(dir, keptManifestPrefix+set), 0o755); err != nil {
			t.Error(err)
		}
	}
	path := filepath.Join(dir, badger.ManifestFilename)
	manifestRewriteAt = 0
	s := openTemp(t, dir, Options{})
	err := s.Close()
	manifestRewriteStep, manifestRewriteAt = nil, 1<<20
	if err != nil {
		t.Fatalf("Close, unable to keep the MANIFEST: %v", err)
	}
	if size := fileSize(t, path); size <= 256 {
		t.Errorf("the MANIFEST was rewritten (%d bytes) with nothing kept", size)
	}
	if _, err := os.Stat(filepath.Join(dir, manifestRewriteName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the rewrite file is left (%v)", err)
	}
	checkSessions(t, dir, sessions, main, Options{})
}
