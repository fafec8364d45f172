package merge

import (
	"context"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// A gc that runs while a server merges (its --gc-prune passed since the
// virtual base was made, or a `folio gc --prune=now` sent to it): a merge
// during the gc that takes a remembered virtual base builds on objects
// no ref reaches and that it does not write again. Its conflict records
// name the base's documents, so the sweep must not delete them.
func TestGCDuringAMergeKeepsWhatARememberedBaseGivesIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newDiskRepo(t)
	p, q, baseDoc := rememberedBaseConflict(t, r)
	mergeDuringGC(t, r, baseDoc, func() (objects.ID, error) {
		merged, _, err := Converge(ctx, r, p, q)
		return merged, err
	})
}

// mergeDuringGC runs merge once inside a gc's sweep (its first deletion),
// and checks that the merge's commit is whole afterwards and baseDoc,
// which its conflict record names, is still stored.
func mergeDuringGC(t *testing.T, r *repo.Repo, baseDoc objects.ID, merge func() (objects.ID, error)) {
	t.Helper()
	ctx := context.Background()
	var merged objects.ID
	_, err := r.GC(ctx, repo.GCOptions{Found: func(objects.ID, int64) {
		if !merged.IsZero() {
			return
		}
		var err error
		if merged, err = merge(); err != nil {
			t.Error(err)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if merged.IsZero() {
		t.Fatal("gc deleted nothing: the test merged nowhere")
	}
	if ok, err := r.Store().Has(ctx, baseDoc); !ok || err != nil {
		t.Errorf("the base document %s of the merge's conflict record is gone (%v)", baseDoc.Short(), err)
	}
	checkClosure(t, r, merged)
}

// A merge that took a remembered virtual base just before a gc began,
// and writes its conflict records after the gc's mark looked at the
// store: what the base gives it stays all the same.
func TestGCKeepsWhatAMergeInFlightTookFromARememberedBase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newDiskRepo(t)
	p, q, baseDoc := rememberedBaseConflict(t, r)
	buf, flush := r.Buffered()
	m := &merger{r: buf, commits: newCommitCache(buf), virtual: map[string]virtualHead{}}
	ours, err := HeadOf(ctx, m.commits, p)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := HeadOf(ctx, m.commits, q)
	if err != nil {
		t.Fatal(err)
	}
	bases, err := Bases(ctx, m.commits, p, q)
	if err != nil {
		t.Fatal(err)
	}
	base, err := m.virtualBase(ctx, bases, 0) // remembered: before the gc
	if err != nil {
		t.Fatal(err)
	}
	mergeDuringGC(t, r, baseDoc, func() (objects.ID, error) {
		out, err := Indexes(ctx, buf, base, ours, theirs)
		if err != nil {
			return objects.ID{}, err
		}
		merged, _, err := writeMergeCommit(ctx, buf, ours, theirs, out, "in flight")
		if err != nil {
			return objects.ID{}, err
		}
		return merged, flush(ctx)
	})
}

// rememberedBaseConflict writes a criss-cross history whose heads p and q
// (named by branches) conflict on k.txt, merges them once so that r
// remembers their virtual base, and returns them and the base's own
// document of k.txt, which no ref reaches.
func rememberedBaseConflict(t *testing.T, r *repo.Repo) (p, q, baseDoc objects.ID) {
	t.Helper()
	ctx := context.Background()
	root := docs{"k.txt": "one\ntwo\nthree\nfour\nfive\n"}
	R := commitDocs(t, r, "R", 0, root)
	A := commitDocs(t, r, "A", 1, docs{"k.txt": "ONE\ntwo\nthree\nfour\nfive\n"}, R)
	B := commitDocs(t, r, "B", 2, docs{"k.txt": "one\ntwo\nthree\nfour\nFIVE\n"}, R)
	// Crossed merges that resolved k their own way: the virtual base's
	// clean merge of A and B ("ONE ... FIVE") is a document of its own.
	X := commitDocs(t, r, "X", 3, docs{"k.txt": "x\n"}, A, B)
	Y := commitDocs(t, r, "Y", 4, docs{"k.txt": "y\n"}, B, A)
	p = commitDocs(t, r, "p", 5, docs{"k.txt": "p\n"}, X)
	q = commitDocs(t, r, "q", 6, docs{"k.txt": "q\n"}, Y)
	for name, id := range map[string]objects.ID{"p": p, "q": q} {
		if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: objects.BranchPrefix + name, New: id}); err != nil {
			t.Fatal(err)
		}
	}
	first, _, err := Converge(ctx, r, p, q) // remembers the virtual base
	if err != nil {
		t.Fatal(err)
	}
	rec := readConflicts(t, r, readCommit(t, r, first).Conflicts)["k.txt"]
	if rec == nil || rec.Base.ID.IsZero() {
		t.Fatalf("no conflict on k.txt with a base: %+v", rec)
	}
	return p, q, rec.Base.ID

}
