package merge

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
)

// BenchmarkMergeChanged merges two branches that each changed some
// documents of an index of 100,000 or 1,000,000 ~100-byte JSON documents.
// 1% of the changed keys changed on both sides, half of those in the same
// field (a conflict) and half in different fields (a clean JSON merge).
//
// Each merge runs in a freshly opened Badger repository, as a CLI command
// or a sync job would, so node and block caches start cold; opening it,
// and building the index, is not timed.
//
// The changes are spread evenly over the keys, so the work is in the index
// nodes they touch. 10,000 changes touch every leaf of the 100,000-document
// index (about 60 documents a leaf) but only one leaf in 1.6 of the
// 1,000,000-document one; 1,000 changes touch about as many leaves in
// both. The changed=1000 pair is therefore the one that shows whether the
// time follows the changes or the index size.
func BenchmarkMergeChanged(b *testing.B) {
	for _, total := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("docs=%d", total), func(b *testing.B) {
			if total > 100_000 && testing.Short() {
				b.Skip("building the 1,000,000-document index takes a while; not with -short")
			}
			worktree := b.TempDir()
			cases := buildBenchRepo(b, worktree, total, []int{1_000, 10_000})
			settle(b, worktree)
			for _, c := range cases {
				b.Run(fmt.Sprintf("changed=%d", c.changed), func(b *testing.B) {
					benchMerge(b, worktree, c)
				})
			}
		})
	}
}

// benchCase is one pair of branches to merge.
type benchCase struct {
	changed      int // documents each side changed
	ours, theirs objects.ID
	conflicts    int // documents the merge conflicts on
}

func benchMerge(b *testing.B, worktree string, c benchCase) {
	ctx := context.Background()
	b.ReportAllocs()
	b.StopTimer()
	for range b.N {
		// As folio merge opens it: with a 128 MiB block cache.
		r, err := repo.Open(ctx, filepath.Join(worktree, repo.DirName), repo.Options{CacheBytes: 128 << 20})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := Heads(ctx, r, c.ours, c.theirs)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if res.Relation != Diverged || len(res.Conflicted) != c.conflicts {
			b.Fatalf("relation %d, %d conflicts, want a merge with %d", res.Relation, len(res.Conflicted), c.conflicts)
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// settle lets the store's compactors finish the building's backlog, so
// the merge is measured as a later command finds the repository.
func settle(b *testing.B, worktree string) {
	r, err := repo.Open(context.Background(), filepath.Join(worktree, repo.DirName), repo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(10 * time.Second)
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchDoc is a document of about 100 bytes.
func benchDoc(i, value, version int) []byte {
	return fmt.Appendf(nil, `{"id": %d, "name": "document %d", "value": %d, "version": %d, "tags": ["bench", "folio"]}`,
		i, i, value, version)
}

func benchKey(i int) string { return fmt.Sprintf("docs/%08d.json", i) }

// buildBenchRepo makes a repository in worktree with a base commit of
// total documents and, for each count in changed, two commits on it that
// each change that many documents. The blobs are stored in large batches
// and the index is built bottom-up in one pass.
func buildBenchRepo(b *testing.B, worktree string, total int, changed []int) []benchCase {
	b.Helper()
	ctx := context.Background()
	r, err := repo.Init(ctx, worktree, "", repo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	const putBatch = 100_000
	builder := r.Tree().NewBuilder()
	var batch []objects.Object
	for i := range total {
		content := benchDoc(i, i%1000, 0)
		obj := objects.EncodeBlob(content)
		batch = append(batch, obj)
		if err := builder.Add(ctx, benchKey(i), objects.Entry{ID: obj.ID, Kind: objects.KindJSON, Size: uint64(len(content))}); err != nil {
			b.Fatal(err)
		}
		if len(batch) == putBatch || i == total-1 {
			if err := r.Store().Put(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	baseIndex, err := builder.Finish(ctx)
	if err != nil {
		b.Fatal(err)
	}
	base := writeCommit(b, r, commitSpec{at: 0, msg: "base", index: baseIndex})

	var cases []benchCase
	for _, n := range changed {
		c := benchCase{changed: n}
		oursEdits, theirsEdits, blobs := benchEdits(total, n, &c.conflicts)
		if err := r.Store().Put(ctx, blobs...); err != nil {
			b.Fatal(err)
		}
		oursIndex, err := r.Tree().Edit(ctx, baseIndex, oursEdits)
		if err != nil {
			b.Fatal(err)
		}
		theirsIndex, err := r.Tree().Edit(ctx, baseIndex, theirsEdits)
		if err != nil {
			b.Fatal(err)
		}
		c.ours = writeCommit(b, r, commitSpec{parents: []objects.ID{base}, at: 1, msg: fmt.Sprint("ours ", n), index: oursIndex})
		c.theirs = writeCommit(b, r, commitSpec{parents: []objects.ID{base}, at: 2, msg: fmt.Sprint("theirs ", n), index: theirsIndex})
		cases = append(cases, c)
	}
	return cases
}

// benchEdits changes n of total documents on each side: ours every
// step-th, theirs the ones half a step further, except every 100th of
// ours', which theirs changes too: half of those in the field ours changed
// (a conflict), half in another.
func benchEdits(total, n int, conflicts *int) (ours, theirs []prolly.Edit, blobs []objects.Object) {
	step := total / n
	edit := func(edits *[]prolly.Edit, i int, content []byte) {
		obj := objects.EncodeBlob(content)
		blobs = append(blobs, obj)
		*edits = append(*edits, prolly.Edit{Key: benchKey(i), Entry: objects.Entry{ID: obj.ID, Kind: objects.KindJSON, Size: uint64(len(content))}})
	}
	for k := range n {
		i := k * step
		edit(&ours, i, benchDoc(i, i%1000, 1))
		switch {
		case k%200 == 0:
			edit(&theirs, i, benchDoc(i, i%1000, 2))
			*conflicts++
		case k%100 == 0:
			edit(&theirs, i, benchDoc(i, i%1000+1, 0))
		default:
			j := i + step/2
			edit(&theirs, j, benchDoc(j, j%1000, 2))
		}
	}
	return ours, theirs, blobs
}
