package repo

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
)

// docWrites is n writes of one small document each, under keys prefix/i,
// with their blobs: documents of size bytes, version v.
func docWrites(t testing.TB, prefix string, n, size, v int) []ChainWrite {
	t.Helper()
	writes := make([]ChainWrite, n)
	for i := range writes {
		content := fmt.Appendf(nil, "%s %d %d ", prefix, i, v)
		for len(content) < size {
			content = append(content, byte('a'+len(content)%26))
		}
		obj, e, ok := EncodeSmallDocument(content)
		if !ok {
			t.Fatalf("a document of %d bytes is not small", size)
		}
		writes[i] = ChainWrite{Edits: []Edit{{Key: fmt.Sprintf("%s/%05d", prefix, i), Entry: e}},
			Blobs: []objects.Object{obj}, Options: CommitOptions{Author: ada, Message: "w"}}
	}
	return writes
}

// A chain built and not stored yet holds each of its objects once, in the
// quarantine its Store promotes, not also in a copy of its own.
func TestUnstoredChainHoldsItsObjectsOnce(t *testing.T) {
	r := newTestRepo(t)
	ctx := context.Background()
	const docs, size = 24, 512 << 10
	build := func() *Chain {
		c, err := r.BuildChain(ctx, objects.BranchPrefix+"main", docWrites(t, "big", docs, size, 0), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	c.Discard()
	if held > docs*size*3/2 {
		t.Errorf("a chain of %d documents of %d KiB holds %d MiB until stored; want about %d MiB",
			docs, size>>10, held>>20, docs*size>>20)
	}
}

// A chain built on one whose Store is under way reads that chain's index
// nodes as it decoded them: building it costs no more than building it on
// the same chain once stored (whose nodes the repository's Tree then
// holds decoded), not a decoding of every node on the paths it edits.
func TestChainBuiltOnUnstoredChainDecodesNoNodeAgain(t *testing.T) {
	r := newTestRepo(t)
	ctx := context.Background()
	main := objects.BranchPrefix + "main"
	if _, err := r.CommitChain(ctx, main, docWrites(t, "docs", 1, 64, 0)); err != nil {
		t.Fatal(err)
	}
	seed := docWrites(t, "docs", 3000, 64, 0)
	var all []Edit
	for _, w := range seed {
		all = append(all, w.Edits...)
		if err := r.Store().Put(ctx, w.Blobs...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.CommitChain(ctx, main, []ChainWrite{{Edits: all, Options: seed[0].Options}}); err != nil {
		t.Fatal(err)
	}
	first, err := r.BuildChain(ctx, main, docWrites(t, "docs", 8, 64, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Discard()
	next := docWrites(t, "docs", 8, 64, 2)
	buildOn := func(after *Chain) float64 {
		return testing.AllocsPerRun(5, func() {
			c, err := r.BuildChain(ctx, main, next, after)
			if err != nil {
				t.Fatal(err)
			}
			c.Discard()
		})
	}
	pipelined := buildOn(first)
	if err := first.Store(ctx); err != nil {
		t.Fatal(err)
	}
	stored := buildOn(nil)
	if pipelined > stored {
		t.Errorf("building on a chain being stored made %.0f allocations; on it once stored, %.0f", pipelined, stored)
	}
}

// commitReads is a store that counts the commits read from it and from
// its quarantines.
type commitReads struct {
	objects.Store
	n atomic.Int64
}

func (s *commitReads) count(data []byte) {
	if t, err := objects.TypeOf(data); err == nil && t == objects.TypeCommit {
		s.n.Add(1)
	}
}

func (s *commitReads) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	data, err := s.Store.Get(ctx, id)
	s.count(data)
	return data, err
}

func (s *commitReads) Quarantine(ctx context.Context) (objects.Quarantine, error) {
	q, err := s.Store.Quarantine(ctx)
	return countedQuarantine{q, s}, err
}

type countedQuarantine struct {
	objects.Quarantine
	s *commitReads
}

func (q countedQuarantine) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	data, err := q.Quarantine.Get(ctx, id)
	q.s.count(data)
	return data, err
}

// A chain knows the height and time of the commit it builds on: it reads
// the branch's head commit once, not each write's parent again (a read
// and a decoding on the path every group of document writes waits on).
func TestChainReadsTheHeadCommitOnce(t *testing.T) {
	ctx := context.Background()
	bs, err := badgerstore.Open(filepath.Join(t.TempDir(), "store"), badgerstore.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	store := &commitReads{Store: bs}
	r, err := Init(ctx, t.TempDir(), "", Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	main := objects.BranchPrefix + "main"
	res, err := r.CommitChain(ctx, main, docWrites(t, "docs", 1, 64, 0))
	if err != nil {
		t.Fatal(err)
	}
	head, err := r.ReadCommit(ctx, res[0].Commit)
	if err != nil {
		t.Fatal(err)
	}
	store.n.Store(0)
	const writes = 20
	first, err := r.BuildChain(ctx, main, docWrites(t, "docs", writes, 64, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Discard()
	next, err := r.BuildChain(ctx, main, docWrites(t, "docs", writes, 64, 2), first)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Discard()
	if n := store.n.Load(); n > 1 {
		t.Errorf("building two chains of %d writes read %d commits; want the head's, once", writes, n)
	}
	if err := first.Store(ctx); err != nil {
		t.Fatal(err)
	}
	if err := next.Store(ctx); err != nil {
		t.Fatal(err)
	}
	tip, err := r.ReadCommit(ctx, next.Results[writes-1].Commit)
	if err != nil {
		t.Fatal(err)
	}
	if want := head.Height + 2*writes; tip.Height != want || !tip.CommitTime.After(head.CommitTime) {
		t.Errorf("the last commit has height %d, time %s; want %d, after %s", tip.Height, tip.CommitTime, want, head.CommitTime)
	}
}
