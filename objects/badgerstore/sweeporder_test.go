package badgerstore

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/storetest"
)

// smallSortRuns makes entrySorter spill every few entries and merge runs
// a few at a time, for the length of a test (not a parallel one).
func smallSortRuns(t *testing.T, run, fanIn int) {
	oldRun, oldFanIn := sortRun, sortFanIn
	sortRun, sortFanIn = run, fanIn
	t.Cleanup(func() { sortRun, sortFanIn = oldRun, oldFanIn })
}

// The sorter gives back what it was given, in order, through runs on disk
// merged over several levels, and leaves no file behind.
func TestEntrySorterSpills(t *testing.T) {
	smallSortRuns(t, 7, 3)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 6, 7, 8, 100, 1000} {
		s := newEntrySorter(dir)
		var want []sweepEntry
		for i := range n {
			e := sweepEntry{rank: rng.Uint64N(5) << 56, id: objects.Hash(fmt.Append(nil, i)), size: int64(i)}
			want = append(want, e)
			if err := s.add(e); err != nil {
				t.Fatal(err)
			}
		}
		if n == 1000 && len(s.levels) < 3 {
			t.Errorf("%d entries in runs of %d merged 3 at a time: %d levels, want 3 or more", n, sortRun, len(s.levels))
		}
		m, err := s.sorted()
		if err != nil {
			t.Fatal(err)
		}
		var got []sweepEntry
		for {
			e, ok, err := m.next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			got = append(got, e)
		}
		m.close()
		slices.SortFunc(want, compareEntries)
		if !slices.EqualFunc(got, want, func(a, b sweepEntry) bool { return compareEntries(a, b) == 0 && a.size == b.size }) {
			t.Errorf("%d entries: sorted %d of them, not in order or not the same", n, len(got))
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
			t.Errorf("%d entries: files left behind: %v", n, left)
		}
	}
}

// sweepHistory stores a history of every kind of object a sweep meets,
// none of it reachable: commits commits, every fourth a merge of a side
// commit, each with an index of three levels that shares a subtree with
// the one before; a chain of conflict records (each replacing the two
// before) in a conflicts map; and now and then a chunked document. It
// returns every ID (about 12 a commit), sorted.
func sweepHistory(t testing.TB, s *Store, commits int) []objects.ID {
	t.Helper()
	ctx := context.Background()
	var objs []objects.Object
	add := func(o objects.Object) objects.Entry {
		objs = append(objs, o)
		return objects.Entry{ID: o.ID, Kind: objects.KindText, Size: uint64(len(o.Data))}
	}
	// Leaves of about 4 KiB (40 keys over their documents), as a prolly
	// map's are.
	node := func(level uint8, es ...objects.Entry) objects.Entry {
		n := &objects.Node{Level: level}
		keys := len(es)
		if level == 0 {
			keys = max(keys, 40)
		}
		for i := range keys {
			e := es[i%len(es)]
			if level > 0 {
				e.Kind = 0
			}
			n.Items = append(n.Items, objects.NodeItem{Key: fmt.Sprintf("docs/%s/%03d.json", strings.Repeat("k", 40), i), Entry: e})
		}
		return add(n.Encode())
	}
	commit := func(index, conflicts objects.ID, height uint64, parents ...objects.ID) objects.ID {
		return add((&objects.Commit{Index: index, Conflicts: conflicts, Parents: parents, Height: height,
			Author: objects.Signature{Name: "sweep", Email: "sweep@example.com"}, Time: time.Unix(int64(height), 0).UTC()}).Encode()).ID
	}
	var ids []objects.ID
	var head, conflicts objects.ID
	var records []objects.ID
	var lastSub objects.Entry
	var height uint64
	for i := range commits {
		blob := func(j int) objects.Entry { return add(objects.EncodeBlob(sweepDoc(i, j))) }
		leaves := []objects.Entry{node(0, blob(0), blob(1)), node(0, blob(2), blob(3))}
		if i%10 == 5 {
			chunked := &objects.Chunked{Size: 18, Chunks: []objects.ChunkRef{{ID: blob(4).ID, Size: 9}, {ID: blob(5).ID, Size: 9}}}
			leaves[1] = node(0, blob(2), add(chunked.Encode()))
		}
		sub := node(1, leaves...)
		if lastSub.ID.IsZero() {
			lastSub = sub
		}
		root := node(2, lastSub, sub)
		lastSub = sub
		if i%3 == 1 {
			c := &objects.Conflict{Key: "hot", Ours: blob(6), Theirs: blob(7), OursCommit: head, TheirsCommit: head, Winner: objects.SideOurs}
			for _, r := range records[max(0, len(records)-2):] {
				c.Replaces = append(c.Replaces, r)
			}
			slices.SortFunc(c.Replaces, objects.ID.Compare)
			rec := add(c.Encode())
			rec.Kind = objects.KindConflict
			records, conflicts = append(records, rec.ID), node(0, rec).ID
		}
		var parents []objects.ID
		if i > 0 {
			parents = []objects.ID{head}
		}
		if i%4 == 3 {
			parents = append(parents, commit(node(2, sub).ID, objects.ID{}, height+1, head))
			height++
		}
		height++
		head = commit(root.ID, conflicts, height, parents...)
		if len(objs) > 1000 || i == commits-1 {
			if err := s.Put(ctx, objs...); err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				ids = append(ids, o.ID)
			}
			objs = objs[:0]
		}
	}
	slices.SortFunc(ids, objects.ID.Compare)
	return slices.Compact(ids)
}

// sweepDoc is a document of about 1 KiB that compresses about as well as
// JSON does.
func sweepDoc(i, j int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), uint64(j)))
	doc := fmt.Appendf(nil, `{"doc":"%d.%d","words":"`, i, j)
	for len(doc) < 1000 {
		doc = strconv.AppendUint(doc, rng.Uint64()>>(rng.Uint64()%40), 16)
		doc = append(doc, ' ')
	}
	return append(doc, `"}`...)
}

// A sweep deletes an object only after every object it deletes that
// references it: commits from the highest down, maps from the root down,
// conflict records after those that replace them, documents before their
// chunks. Here with its order sorted through files on disk.
func TestSweepDeletesInReferenceOrder(t *testing.T) {
	smallSortRuns(t, 100, 4)
	ctx := context.Background()
	s := newCollectStore(t)
	ids := sweepHistory(t, s, 300)
	refs := map[objects.ID][]objects.ID{}
	err := s.Objects(ctx, nil, func(id objects.ID, data []byte) error {
		var err error
		refs[id], err = objects.References(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	at := map[objects.ID]int{}
	st, err := c.Sweep(ctx, func(objects.ID) bool { return false }, false, func(o ObjectInfo) { at[o.ID] = len(at) })
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != len(ids) || len(at) != len(ids) {
		t.Fatalf("swept %d objects (%d seen) of %d", st.Objects, len(at), len(ids))
	}
	late := 0
	for from, tos := range refs {
		for _, to := range tos {
			if at[to] < at[from] {
				if late++; late <= 3 {
					t.Errorf("%s deleted %d objects before %s, which references it", to.Short(), at[from]-at[to], from.Short())
				}
			}
		}
	}
	if late > 0 {
		t.Errorf("%d objects deleted before an object referencing them", late)
	}
	if left, _ := filepath.Glob(filepath.Join(s.dir, "sweep-*")); len(left) > 0 {
		t.Errorf("the sweep left files behind: %v", left)
	}
}

// runSweeper is the child of the kill test: it sweeps everything old and
// prints each object as it goes into a delete batch. Its output blocks
// when nobody reads it, so the parent decides how far it gets.
func runSweeper(dir string) error {
	ctx := context.Background()
	s, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	c, err := s.BeginCollection(ctx, 0, false)
	if err != nil {
		return err
	}
	out := os.Stdout
	_, err = c.Sweep(ctx, func(objects.ID) bool { return false }, false, func(o ObjectInfo) {
		fmt.Fprintf(out, "deleting %s\n", o.ID)
	})
	if err != nil {
		return err
	}
	return s.Close()
}

// A sweep killed (SIGKILL) after a few delete batches leaves every object
// it did not delete with its whole closure.
func TestSweepKilledLeavesEveryObjectClosed(t *testing.T) {
	t.Parallel()
	dir := newStoreDir(t)
	s := openTemp(t, dir, Options{Create: true})
	total := len(sweepHistory(t, s, 500))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 2*sweepBatch + 100 // the output pipe holds about 800 more
	cmd := helperCmd("sweeper", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	seen := 0
	for seen < killAfter && sc.Scan() {
		seen++
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("the sweep ended before it was killed, after %d objects: %s", seen, stderr.String())
	}
	s = openTemp(t, dir, Options{})
	defer s.Close()
	left := storetest.CheckClosed(t, s)
	if left > total-2*sweepBatch || left == 0 {
		t.Errorf("%d objects of %d left after a kill past %d objects: want two batches or more deleted, not all", left, total, seen)
	}
}
