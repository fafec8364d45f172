package merge

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/objects/repo"
)

// countingStore counts object reads and writes.
type countingStore struct {
	objects.Store
	gets, puts atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, id)
}

func (s *countingStore) Put(ctx context.Context, objs ...objects.Object) error {
	s.puts.Add(1)
	return s.Store.Put(ctx, objs...)
}

// TestMergeWorkFollowsChanges checks the claim of the package doc that an
// index merge's work grows with the changed documents, not with the size
// of the index: the same 20 changes on each side of a 10,000- and a
// 100,000-document index read about as many objects, far fewer than the
// bigger index holds. Reads are counted on a fresh repository over the
// same store, so no cache hides them.
func TestMergeWorkFollowsChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100,000-document index")
	}
	const changed = 20
	reads := map[int]int64{}
	for _, total := range []int{10_000, 100_000} {
		ctx := context.Background()
		store := &countingStore{Store: memstore.New()}
		worktree := t.TempDir()
		r, err := repo.Init(ctx, worktree, "", repo.Options{Store: store})
		if err != nil {
			t.Fatal(err)
		}
		c := buildIndexes(t, r, total, changed)
		fresh, err := repo.Open(ctx, r.Dir(), repo.Options{Store: store})
		if err != nil {
			t.Fatal(err)
		}
		store.gets.Store(0)
		store.puts.Store(0)
		res, err := Heads(ctx, fresh, c.ours, c.theirs)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Conflicted) != c.conflicts {
			t.Fatalf("%d documents: %d conflicts, want %d", total, len(res.Conflicted), c.conflicts)
		}
		reads[total] = store.gets.Load()
		t.Logf("%d documents, %d changed on each side: %d reads, %d writes", total, changed, reads[total], store.puts.Load())
		if reads[total] > int64(total/20) {
			t.Errorf("%d documents: the merge read %d objects for %d changes", total, reads[total], changed)
		}
		store.Close()
	}
	// One more tree level costs a few reads per change, no more.
	if reads[100_000] > 2*reads[10_000] {
		t.Errorf("reads grew from %d to %d with the index size", reads[10_000], reads[100_000])
	}
}

// buildIndexes writes the benchmark's history (see bench_test.go) into r
// and returns its one case.
func buildIndexes(t *testing.T, r *repo.Repo, total, changed int) benchCase {
	t.Helper()
	ctx := context.Background()
	builder := r.Tree().NewBuilder()
	var blobs []objects.Object
	for i := range total {
		content := benchDoc(i, i%1000, 0)
		obj := objects.EncodeBlob(content)
		blobs = append(blobs, obj)
		if err := builder.Add(ctx, benchKey(i), objects.Entry{ID: obj.ID, Kind: objects.KindJSON, Size: uint64(len(content))}); err != nil {
			t.Fatal(err)
		}
	}
	baseIndex, err := builder.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := benchCase{changed: changed}
	oursEdits, theirsEdits, more := benchEdits(total, changed, &c.conflicts)
	if err := r.Store().Put(ctx, append(blobs, more...)...); err != nil {
		t.Fatal(err)
	}
	oursIndex, err := r.Tree().Edit(ctx, baseIndex, oursEdits)
	if err != nil {
		t.Fatal(err)
	}
	theirsIndex, err := r.Tree().Edit(ctx, baseIndex, theirsEdits)
	if err != nil {
		t.Fatal(err)
	}
	base := writeCommit(t, r, commitSpec{at: 0, msg: "base", index: baseIndex})
	c.ours = writeCommit(t, r, commitSpec{parents: []objects.ID{base}, at: 1, msg: "ours", index: oursIndex})
	c.theirs = writeCommit(t, r, commitSpec{parents: []objects.ID{base}, at: 2, msg: "theirs", index: theirsIndex})
	return c
}
