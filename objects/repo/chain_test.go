package repo

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/folio-db/folio/objects"
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
