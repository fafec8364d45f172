package badgerstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// leafObjects are the blobs the leaf-load tests load: n JSON documents,
// in the order an import finds them (not ID order).
func leafObjects(n int) []objects.Object {
	objs := make([]objects.Object, n)
	for i := range objs {
		objs[i] = objects.EncodeBlob(jsonDoc(i))
	}
	return objs
}

// TestLeafLoad loads blobs in no order into a new store: a large Put as a
// run of the temporary file of its own, small ones with so little memory
// that they go to several more. Every one
// must read back, the store must reopen with its format record, and the
// blobs must be in the bottom level, with nothing in level 0 for later
// commands to merge. Failed before: there was no leaf load.
func TestLeafLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, s, load, maxSize := newLeafLoad(t)
	all := leafObjects(3000)
	if maxSize < 64<<10 || maxSize >= valueThreshold {
		t.Fatalf("a leaf load takes objects up to %d bytes, want under the value log's %d", maxSize, valueThreshold)
	}
	load.(*bulkLoad).restMemory = 256 << 10
	if err := load.Put(ctx, all[:1500]...); err != nil { // a run of its own
		t.Fatal(err)
	}
	if runs := len(load.(*bulkLoad).runs); runs != 1 {
		t.Fatalf("a Put of %d objects made %d runs, want one", 1500, runs)
	}
	for chunk := range slices.Chunk(append(all[1500:], all[7]), 200) { // one twice
		if err := load.Put(ctx, chunk...); err != nil {
			t.Fatal(err)
		}
	}
	if runs := len(load.(*bulkLoad).runs); runs < 3 {
		t.Fatalf("%d runs spilled, want several", runs)
	}
	if err := load.Put(ctx, objects.EncodeBlob(make([]byte, maxSize))); !errors.Is(err, objects.ErrTooLarge) {
		t.Fatalf("a load put an object over its limit: %v", err)
	}
	if err := load.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	checkLoaded(t, s, all)
	levels := s.db.Levels()
	if bottom := levels[len(levels)-1]; bottom.NumTables == 0 || levels[0].NumTables != 0 {
		t.Fatalf("level 0 holds %d tables, the bottom level %d", levels[0].NumTables, bottom.NumTables)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	reopened, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after a leaf load: %v", err)
	}
	defer reopened.Close()
	checkLoaded(t, reopened, all)
}

// TestLeafLoadOnlyIntoANewStore: a leaf load empties the store first, so
// it refuses, with objects.ErrNoLeafLoad and no change, a store that
// holds anything but its format record.
func TestLeafLoadOnlyIntoANewStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blob := objects.EncodeBlob([]byte("stored before"))
	for name, fill := range map[string]func(*Store) error{
		"an object": func(s *Store) error { return s.Put(ctx, blob) },
		"a ref": func(s *Store) error {
			return s.db.Update(func(txn *badger.Txn) error { return txn.Set(refKey("refs/heads/x"), blob.ID[:]) })
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := openTemp(t, newStoreDir(t), Options{})
			if err := fill(s); err != nil {
				t.Fatal(err)
			}
			before := rawKeys(t, s)
			if _, _, err := s.LeafLoad(ctx); !errors.Is(err, objects.ErrNoLeafLoad) {
				t.Fatalf("leaf load into a store with %s: %v", name, err)
			}
			if after := rawKeys(t, s); !slices.Equal(before, after) {
				t.Fatalf("keys %q became %q", before, after)
			}
			if err := s.Put(ctx, objects.EncodeBlob([]byte("after"))); err != nil {
				t.Fatalf("a write after the refused load: %v", err)
			}
		})
	}
}

func rawKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var keys []string
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, string(it.Item().KeyCopy(nil)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestLeafLoadDiscarded: a load stopped half-way, as an import that fails
// on a file stops it, leaves a store that opens, keeps its record, takes
// writes, and holds whole objects only.
func TestLeafLoadDiscarded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, s, load, _ := newLeafLoad(t)
	if err := load.Put(ctx, leafObjects(500)...); err != nil {
		t.Fatal(err)
	}
	load.Discard()
	if err := s.Put(ctx, objects.EncodeBlob([]byte("after"))); err != nil {
		t.Fatalf("a write after a discarded load: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkKilledLoad(t, dir, nil)
}

// TestEmptyStoreOpensAsNew: a store without a single key (a creation,
// or the start of a first import's load, cut short) opens as a new store,
// read-only or not, and a writable open writes its format record. Failed
// before: objects.ErrUnknownFormat without Create.
func TestEmptyStoreOpensAsNew(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	db, err := rawBadger(t, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, opts := range []Options{{ReadOnly: true}, {}, {ReadOnly: true}} {
		s, err := Open(dir, opts)
		if err != nil {
			t.Fatalf("Open(%+v) of an empty store: %v", opts, err)
		}
		s.Close()
	}
	if keys := rawKeys(t, openTemp(t, dir, Options{ReadOnly: true})); !slices.Equal(keys, []string{formatKey}) {
		t.Fatalf("the empty store holds %q after a writable open, want its format record", keys)
	}
}

// TestLeafLoadKilled kills processes that leaf-load a new store at random
// moments, half of them while the load writes its stream. After each, the
// store must open with its format record, and hold only whole objects of
// the load: a prefix of them, or none.
func TestLeafLoadKilled(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills processes")
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	// How long the load takes to put and to finish, to spread the kills.
	dir := newStoreDir(t)
	start := time.Now()
	var putTook time.Duration
	cmd, lines := startLeafLoader(t, dir)
	for line := range lines {
		if line == "put" {
			putTook = time.Since(start)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("leaf loader: %v", err)
	}
	finishTook := time.Since(start) - putTook
	t.Logf("put %v, finish %v", putTook, finishTook)
	checkKilledLoad(t, dir, leafObjects(leafKillDocs))

	partial := 0
	for i := range 6 {
		dir := newStoreDir(t)
		cmd, lines := startLeafLoader(t, dir)
		var delay time.Duration
		if i%2 == 0 {
			delay = time.Duration(rng.Int64N(int64(putTook + finishTook)))
		} else {
			for line := range lines {
				if line == "put" {
					break
				}
			}
			delay = time.Duration(rng.Int64N(int64(finishTook)))
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		cmd.Wait()
		if n := checkKilledLoad(t, dir, nil); n > 0 && n < leafKillDocs {
			partial++
		}
	}
	t.Logf("%d of 6 kills left part of the load", partial)
}

const leafKillDocs = 16_000

// startLeafLoader starts the "leaf-load" helper on dir and returns the
// lines it prints.
func startLeafLoader(t *testing.T, dir string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := helperCmd("leaf-load", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16) // the helper prints one line
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

// runLeafLoad is the "leaf-load" helper: it leaf-loads leafKillDocs
// blobs into the store in dir, saying "put" once they are put.
func runLeafLoad(dir string) error {
	ctx := context.Background()
	s, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	load, _, err := s.LeafLoad(ctx)
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(leafObjects(leafKillDocs), 1000) {
		if err := load.Put(ctx, chunk...); err != nil {
			return err
		}
	}
	fmt.Println("put")
	if err := load.Finish(ctx); err != nil {
		return err
	}
	return s.Close()
}

// checkKilledLoad opens the store in dir after a load was cut short: it
// must open, keep its format record, and hold whole objects of the load
// only (and an object "after" the load wrote); with want, exactly those.
func checkKilledLoad(t *testing.T, dir string, want []objects.Object) int {
	t.Helper()
	ctx := context.Background()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("open after the load was cut short: %v", err)
	}
	defer s.Close()
	if keys := rawKeys(t, s); !slices.Contains(keys, formatKey) {
		t.Fatalf("the store lost its format record: %d keys", len(keys))
	}
	allowed := killedLoadMayHold()
	var ids []objects.ID
	err = s.Objects(ctx, nil, func(id objects.ID, _ []byte) error {
		if !allowed[id] {
			return fmt.Errorf("object %s was not loaded", id.Short())
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := s.Get(ctx, id); err != nil { // Get checks the hash
			t.Fatalf("object %s: %v", id.Short(), err)
		}
	}
	if want != nil && len(ids) != len(want) {
		t.Fatalf("the store holds %d objects, want %d", len(ids), len(want))
	}
	return len(ids)
}

// killedLoadMayHold is the set of objects a store may hold after a leaf
// load of leafKillDocs blobs was cut short, made once: hashing the blobs
// again for each of TestLeafLoadKilled's seven checks took ~0.8 s of CPU.
var killedLoadMayHold = sync.OnceValue(func() map[objects.ID]bool {
	allowed := map[objects.ID]bool{objects.EncodeBlob([]byte("after")).ID: true}
	for _, o := range leafObjects(leafKillDocs) {
		allowed[o.ID] = true
	}
	return allowed
})

// newLeafLoad starts a leaf load into a new store, closed when the test
// ends, and returns its folder, the store, the load and the largest
// object it takes.
func newLeafLoad(t *testing.T) (string, *Store, objects.BulkLoad, int) {
	t.Helper()
	dir := newStoreDir(t)
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	load, maxSize, err := s.LeafLoad(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return dir, s, load, maxSize
}
