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
	root := docs{"k.txt": "one\ntwo\nthree\nfour\nfive\n"}
	R := commitDocs(t, r, "R", 0, root)
	A := commitDocs(t, r, "A", 1, docs{"k.txt": "ONE\ntwo\nthree\nfour\nfive\n"}, R)
	B := commitDocs(t, r, "B", 2, docs{"k.txt": "one\ntwo\nthree\nfour\nFIVE\n"}, R)
	// Crossed merges that resolved k their own way: the virtual base's
	// clean merge of A and B ("ONE ... FIVE") is a document of its own.
	X := commitDocs(t, r, "X", 3, docs{"k.txt": "x\n"}, A, B)
	Y := commitDocs(t, r, "Y", 4, docs{"k.txt": "y\n"}, B, A)
	p := commitDocs(t, r, "p", 5, docs{"k.txt": "p\n"}, X)
	q := commitDocs(t, r, "q", 6, docs{"k.txt": "q\n"}, Y)
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
	baseDoc := rec.Base.ID

	var merged objects.ID
	_, err = r.GC(ctx, repo.GCOptions{Found: func(objects.ID, int64) {
		if !merged.IsZero() {
			return
		}
		if merged, _, err = Converge(ctx, r, p, q); err != nil {
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
