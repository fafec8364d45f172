package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

// countingPack is a pack writer that counts how often each object came.
type countingPack struct {
	PackWriter
	times map[objects.ID]int
}

func (p *countingPack) Write(obj objects.Object) error {
	p.times[obj.ID]++
	return p.PackWriter.Write(obj)
}

// tangle builds, with commits written directly, three branches that each
// commit and then merge the next branch's tip, round after round (a
// criss-cross of merges), where documents return to earlier versions and
// branches write the same contents under other keys: an object reappears
// in many commits that do not follow each other. It returns the tips
// after half the rounds and at the end.
func tangle(t *testing.T, r *repo.Repo, rounds int) (half, end []objects.ID) {
	t.Helper()
	ctx := context.Background()
	const branches = 3
	tips := make([]objects.ID, branches)
	docs := make([]map[string]string, branches)
	for i := range docs {
		docs[i] = map[string]string{}
		for k := range 40 {
			docs[i][fmt.Sprintf("base/%03d.json", k)] = fmt.Sprintf(`{"base": %d, "pad": "%080d"}`, k, k)
		}
	}
	write := func(state map[string]string, parents ...objects.ID) objects.ID {
		index, err := r.Tree().Build(ctx, func(yield func(string, objects.Entry) bool) {
			for _, k := range slices.Sorted(maps.Keys(state)) {
				e, err := r.WriteDocumentBytes(ctx, []byte(state[k]))
				if err != nil {
					t.Fatal(err)
				}
				if !yield(k, e) {
					return
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		var ps []objects.ID
		for _, p := range parents {
			if !p.IsZero() {
				ps = append(ps, p)
			}
		}
		h, err := r.Height(ctx, ps)
		if err != nil {
			t.Fatal(err)
		}
		clock := tick()
		id, err := r.WriteCommit(ctx, &objects.Commit{Index: index, Parents: ps, Height: h, Time: clock, CommitTime: clock,
			Author: objects.Signature{Name: "t", Email: "t@example.com"}, Message: fmt.Sprint("commit ", clock.Unix())})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	for round := range rounds {
		for i := range branches {
			d := docs[i]
			d[fmt.Sprintf("b%d/%03d.json", i, round)] = fmt.Sprintf(`{"round": %d}`, round) // the same contents on each branch
			d["shared.json"] = fmt.Sprintf(`{"v": %d}`, round%3)                            // returns every third round
			d[fmt.Sprintf("base/%03d.json", (round*7+i)%40)] = fmt.Sprintf(`{"base": %d, "pad": "%080d"}`, round%2, i)
			tips[i] = write(d, tips[i])
		}
		for i := range branches {
			j := (i + 1) % branches
			maps.Copy(docs[i], docs[j])
			tips[i] = write(docs[i], tips[i], tips[j])
		}
		if round == rounds/2-1 {
			half = slices.Clone(tips)
		}
	}
	return half, tips
}

// sendOnce sends wants to dst (which has haves) and checks that each
// object came once, and that the receiver is then complete and clean.
func sendOnce(t *testing.T, src, dst *repo.Repo, wants, haves []objects.ID, memIDs int) map[objects.ID]int {
	t.Helper()
	ctx := context.Background()
	var buf bytes.Buffer
	pw := &countingPack{PackWriter: wire.NewPackWriter(&buf, wire.WriterOptions{}), times: map[objects.ID]int{}}
	stats, err := send(ctx, src.Store(), nil, pw, wants, haves, memIDs)
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.PackWriter.(*wire.PackWriter).Close(); err != nil {
		t.Fatal(err)
	}
	for id, n := range pw.times {
		if n != 1 {
			t.Errorf("%s sent %d times", id.Short(), n)
		}
	}
	if stats.Objects != len(pw.times) {
		t.Errorf("Send says %d objects, the pack carried %d", stats.Objects, len(pw.times))
	}
	if _, err := admitPack(dst.Store(), &buf, wants); err != nil {
		t.Fatal(err)
	}
	for i, id := range wants {
		assertComplete(t, dst, id)
		name := fmt.Sprintf("%sb%d", objects.BranchPrefix, i)
		old, err := dst.RefOrZero(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := dst.Store().UpdateRefs(ctx, objects.RefUpdate{Name: name, Old: old, New: id}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := dst.Fsck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("fsck of the receiver: %+v", rep.Problems)
	}
	return pw.times
}

// TestSendsEachObjectOnce clones and then fetches a criss-cross of merges
// with a sender that keeps only 16 IDs in memory, so its lists and sets
// live in its temporary file: each object reachable from the wants and
// not from the haves comes exactly once (the clone: nothing else), and
// the receiver checks clean.
func TestSendsEachObjectOnce(t *testing.T) {
	t.Parallel()
	src, dst := newRepo(t, true), newRepo(t, true)
	half, end := tangle(t, src, 8)

	reach := func(r *repo.Repo, ids []objects.ID) map[objects.ID]int {
		all := map[objects.ID]int{}
		for _, id := range ids {
			maps.Copy(all, closure(t, r, id))
		}
		return all
	}
	sent := sendOnce(t, src, dst, half, nil, 16)
	if want := reach(src, half); !sameKeys(sent, want) {
		t.Errorf("the clone sent %d objects, the wants reach %d", len(sent), len(want))
	}
	// A fetch compares each commit with a parent the receiver has, so it
	// may send again what the receiver holds from commits further away
	// (a document back to an older version); it still sends each object
	// once, and all that the receiver lacks.
	sent = sendOnce(t, src, dst, end, half, 16)
	had := reach(src, half)
	for id := range reach(src, end) {
		if _, ok := had[id]; !ok && sent[id] == 0 {
			t.Errorf("the fetch did not send %s", id.Short())
		}
	}
}

func sameKeys[V any](a, b map[objects.ID]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// sortedSource is a store of fixed objects that walks them in ID order
// without allocating, so a test measures the sender's memory alone.
type sortedSource struct {
	objs []objects.Object
	at   map[objects.ID]int
}

func (s *sortedSource) Get(_ context.Context, id objects.ID) ([]byte, error) {
	if i, ok := s.at[id]; ok {
		return s.objs[i].Data, nil
	}
	return nil, fmt.Errorf("%s: %w", id.Short(), objects.ErrNotFound)
}

func (s *sortedSource) Has(_ context.Context, id objects.ID) (bool, error) {
	_, ok := s.at[id]
	return ok, nil
}

func (s *sortedSource) Objects(ctx context.Context, prefix []byte, fn func(objects.ID, []byte) error) error {
	for _, o := range s.objs {
		if err := fn(o.ID, o.Data); err != nil {
			return err
		}
	}
	return nil
}

// linearSource is a history of n commits, each changing one document
// (an index of one leaf).
func linearSource(t *testing.T, n int) (*sortedSource, objects.ID) {
	src := &sortedSource{at: map[objects.ID]int{}}
	var tip objects.ID
	for i := range n {
		blob, entry, _ := repo.EncodeSmallDocument(fmt.Appendf(nil, `{"n": %d}`, i))
		leaf := (&objects.Node{Items: []objects.NodeItem{{Key: "doc.json", Entry: entry}}}).Encode()
		at := time.Unix(epoch, 0).UTC()
		c := objects.Commit{Index: leaf.ID, Height: uint64(i + 1), Time: at, CommitTime: at, Message: "c"}
		if i > 0 {
			c.Parents = []objects.ID{tip}
		}
		obj := c.Encode()
		tip = obj.ID
		src.objs = append(src.objs, blob, leaf, obj)
	}
	slices.SortFunc(src.objs, func(a, b objects.Object) int { return a.ID.Compare(b.ID) })
	for i, o := range src.objs {
		src.at[o.ID] = i
	}
	return src, tip
}

// heapPack discards what is sent and samples the live heap every 1,024
// objects.
type heapPack struct {
	n    int
	peak uint64
}

func (p *heapPack) Write(objects.Object) error {
	if p.n++; p.n%1024 == 0 {
		p.peak = max(p.peak, liveHeap())
	}
	return nil
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // and what pools kept for one more cycle
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// sendGrowth is how much the live heap grew, at most, while the sender
// cloned a linear history of n commits (writing on its own goroutine, so
// the heap is sampled between its steps; Send's pipe adds a fixed bound).
func sendGrowth(t *testing.T, n int) (int64, int) {
	src, tip := linearSource(t, n)
	p := &heapPack{}
	before := liveHeap()
	stats, err := send(context.Background(), src, nil, p, []objects.ID{tip}, nil, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Commits != n || stats.Objects != 3*n {
		t.Fatalf("the clone of %d commits sent %d commits and %d objects, want %d and %d", n, stats.Commits, stats.Objects, n, 3*n)
	}
	return int64(p.peak) - int64(before), stats.Objects
}

// TestSendMemoryDoesNotGrowWithHistory clones a linear history of 5,000
// and of 20,000 commits (15,000 and 60,000 objects; both fill the sender's
// cache of decoded nodes) with a sender that keeps 1,024 IDs in memory:
// the most live heap the longer one adds is within 1 MiB of the shorter
// one's (remembering 45,000 more IDs in maps takes several MiB). Not
// parallel: it measures the heap.
func TestSendMemoryDoesNotGrowWithHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 20,000-commit history")
	}
	short, _ := sendGrowth(t, 5_000)
	long, objs := sendGrowth(t, 20_000)
	t.Logf("heap growth: %d bytes for 5,000 commits, %d for 20,000 (%d objects)", short, long, objs)
	if long-short > 1<<20 {
		t.Errorf("cloning 20,000 commits took %d bytes more heap than 5,000 (%d vs %d), want at most 1 MiB more", long-short, long, short)
	}
}

// An idSet holds exactly what was added, across the runs it spills to its
// files and merges (7 runs' worth of 50 IDs: merged into runs of 200, 100
// and 50), whatever the order and repeats, and lists it in order.
func TestIDSetIsExact(t *testing.T) {
	t.Parallel()
	sp := &spill{memIDs: 50}
	defer sp.close()
	s := newIDSet(sp)
	ids := func(from, to int) []objects.ID {
		var out []objects.ID
		for i := from; i < to; i++ {
			out = append(out, objects.Hash(fmt.Append(nil, i)))
		}
		return out
	}
	in := ids(0, 370)
	for i, id := range in {
		if err := s.add(id); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := s.add(in[i/2]); err != nil { // again
				t.Fatal(err)
			}
		}
	}
	if len(s.runs) > 3 {
		t.Errorf("%d runs, want them merged into at most 3", len(s.runs))
	}
	for _, id := range in {
		if ok, err := s.has(id); !ok || err != nil {
			t.Fatalf("added %s, has says %v, %v", id.Short(), ok, err)
		}
	}
	for _, id := range ids(370, 2000) {
		if ok, err := s.has(id); ok || err != nil {
			t.Fatalf("never added %s, has says %v, %v", id.Short(), ok, err)
		}
	}
	var err error
	got := slices.Compact(slices.Collect(s.sorted(&err)))
	if slices.SortFunc(in, objects.ID.Compare); err != nil || !slices.Equal(got, in) {
		t.Errorf("sorted listed %d IDs (%v), want the %d added, in order", len(got), err, len(in))
	}
}

// A sender that must spill and cannot make its temporary file stops with
// an error that says so. Not parallel: it sets TMPDIR.
func TestSendWithoutTemporaryFilesFails(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	src, tip := linearSource(t, 100)
	_, err := send(context.Background(), src, nil, &heapPack{}, []objects.ID{tip}, nil, 16)
	if err == nil || !strings.Contains(err.Error(), "temporary file") {
		t.Fatalf("Send without a temporary folder: %v, want an error about its temporary file", err)
	}
}

// A clone whose history holds a chunked document and a merge with a
// conflict, from a sender that keeps 16 IDs in memory: the walk in store
// order sends the blobs, the rest of the send the chunks, the chunked
// document and the conflict record (whose versions the walk sent), each
// once, and everything the merge reaches arrives.
func TestCloneWithChunksAndConflictsSendsEachObjectOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, dst := newRepo(t, true), newRepo(t, true), newRepo(t, true)
	docs := someDocs(40, "v1")
	docs["big.txt"] = strings.Repeat("a line of a large document\n", (repo.SingleBlobMax*3/2)/27)
	docs["copy.json"] = docs["docs/00001.json"]
	stage(t, a, docs)
	base := commit(t, a, "base")
	transfer(t, a, b, []objects.ID{base}, nil)
	if err := b.Store().UpdateRefs(ctx, objects.RefUpdate{Name: main, New: base}); err != nil {
		t.Fatal(err)
	}
	stage(t, a, map[string]string{"docs/00010.json": `{"x": 1}`, "big.txt": docs["big.txt"] + "more\n"})
	ca := commit(t, a, "on a")
	stage(t, b, map[string]string{"docs/00010.json": `{"x": 2}`})
	cb := commit(t, b, "on b")
	transfer(t, b, a, []objects.ID{cb}, []objects.ID{base})
	m, res, err := merge.Converge(ctx, a, ca, cb)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conflicted) != 1 {
		t.Fatalf("want one conflict, got %+v", res.Conflicted)
	}
	sent := sendOnce(t, a, dst, []objects.ID{m}, nil, 16)
	if want := closure(t, a, m); !sameKeys(sent, want) {
		t.Errorf("the clone sent %d objects, the merge reaches %d", len(sent), len(want))
	}
}

// A clone from a store that lacks a document its history names stops
// with ErrNotFound, whether the walk in store order passes the missing
// ID or ends before it.
func TestCloneOfAStoreMissingADocumentFails(t *testing.T) {
	t.Parallel()
	src, tip := linearSource(t, 50)
	var blobs []int
	for i, o := range src.objs {
		if objects.Type(o.Data[0]) == objects.TypeBlob {
			blobs = append(blobs, i)
		}
	}
	for _, drop := range []int{blobs[len(blobs)/2], blobs[len(blobs)-1]} {
		lacking := &sortedSource{objs: slices.Delete(slices.Clone(src.objs), drop, drop+1), at: map[objects.ID]int{}}
		for i, o := range lacking.objs {
			lacking.at[o.ID] = i
		}
		_, err := send(context.Background(), lacking, nil, &heapPack{}, []objects.ID{tip}, nil, 16)
		if !errors.Is(err, objects.ErrNotFound) {
			t.Errorf("a clone without %s: %v, want ErrNotFound", src.objs[drop].ID.Short(), err)
		}
	}
}

// failingPack takes n objects and then fails every write.
type failingPack struct {
	n, writes int
}

var errPackFull = errors.New("the pack writer failed")

func (p *failingPack) Write(objects.Object) error {
	if p.writes++; p.writes > p.n {
		return errPackFull
	}
	return nil
}

// Send writes the pack on a goroutine of its own (packPipe): a failure of
// the writer still ends the send with that error, and the writer is not
// asked to write again after it failed.
func TestSendStopsAtTheWritersError(t *testing.T) {
	t.Parallel()
	src, tip := linearSource(t, 2000)
	p := &failingPack{n: 10}
	_, err := Send(context.Background(), src, p, []objects.ID{tip}, nil)
	if !errors.Is(err, errPackFull) {
		t.Fatalf("send to a failing pack writer: %v, want its error", err)
	}
	if p.writes != p.n+1 {
		t.Errorf("the writer was called %d times, want %d (none after it failed)", p.writes, p.n+1)
	}
}
