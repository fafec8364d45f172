package repo

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore/damagetest"
)

// A bit flipped on disk in the names of two tags and a branch: fsck reports
// each damaged ref (with the ID it holds, unverified) and checks the rest,
// gc still refuses (it must not take the store for one without them),
// branch -D removes the damaged branch, tag -d one tag, RemoveDamagedRefs
// the other, and then fsck is clean and gc runs. Before, Fsck failed with
// ErrCorrupt for the whole repository and nothing could delete the refs.
func TestDamagedRefsAreReportedAndRemoved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newTestRepo(t)
	put(t, r, "a", "alpha")
	head := commit(t, r, "one", 1)
	tag, tag2, branch := "Kq3vT9xLm2PzR7bWn4YcH8dF", "Hx7pQ2wLz9KcM4vB1nRt6YsD", "Gt5sJ1uEo6NaV0iXk3MwQ9rL"
	for _, name := range []string{tag, tag2} {
		if err := r.CreateTag(ctx, name, head); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.CreateBranch(ctx, branch, head); err != nil {
		t.Fatal(err)
	}
	r = reopenWithNamesDamaged(t, r, tag, tag2, branch)

	rep, err := r.Fsck(ctx)
	if err != nil {
		t.Fatalf("fsck of a repository with damaged refs: %v; want a report", err)
	}
	if rep.Refs != 4 || len(rep.Problems) != 3 {
		t.Fatalf("fsck: %d refs, problems %+v; want 4 refs and the 3 damaged ones", rep.Refs, rep.Problems)
	}
	damagedBranch, damagedTag2 := "", ""
	for _, p := range rep.Problems {
		if p.DamagedRef == "" || p.ID != head || !strings.Contains(p.Message, p.DamagedRef) ||
			!strings.Contains(p.Message, "unverified") || !strings.Contains(p.Message, "fsck --repair") {
			t.Errorf("problem %+v: want the damaged ref, the unverified %s and how to fix it", p, head.Short())
		}
		if name, ok := strings.CutPrefix(p.DamagedRef, objects.BranchPrefix); ok {
			damagedBranch = name
		}
		if name, ok := strings.CutPrefix(p.DamagedRef, objects.TagPrefix); ok && name[0] == tag2[0] {
			damagedTag2 = name
		}
	}
	if len(rep.Damaged()) != 0 {
		t.Errorf("Damaged() = %v: a repair would fetch a damaged ref's unverified ID as an object", rep.Damaged())
	}
	if _, err := r.GC(ctx, GCOptions{Grace: DefaultGrace}); !errors.Is(err, objects.ErrCorrupt) {
		t.Errorf("gc with damaged refs: %v; want ErrCorrupt (gc must not skip a ref)", err)
	}

	if id, err := r.DeleteBranch(ctx, damagedBranch); err != nil || id != head {
		t.Fatalf("DeleteBranch of damaged %q = %s, %v; want the unverified %s", damagedBranch, id.Short(), err, head.Short())
	}
	if id, err := r.DeleteTag(ctx, damagedTag2); err != nil || id != head {
		t.Fatalf("DeleteTag of damaged %q = %s, %v; want the unverified %s", damagedTag2, id.Short(), err, head.Short())
	}
	removed, err := r.RemoveDamagedRefs(ctx)
	if err != nil || len(removed) != 1 || !strings.HasPrefix(removed[0].Name, objects.TagPrefix) ||
		removed[0].Restore != "folio tag "+strings.TrimPrefix(removed[0].Name, objects.TagPrefix)+" "+head.String() {
		t.Fatalf("RemoveDamagedRefs = %+v, %v; want the tag, with the command that sets it again", removed, err)
	}
	if rep, err := r.Fsck(ctx); err != nil || !rep.OK() || rep.Refs != 1 {
		t.Fatalf("fsck after removing the damaged refs: %+v, %v; want clean, with main", rep, err)
	}
	if _, err := r.GC(ctx, GCOptions{Grace: DefaultGrace}); err != nil {
		t.Fatalf("gc after removing the damaged refs: %v", err)
	}
	if ok, err := r.store.Has(ctx, head); err != nil || !ok {
		t.Errorf("gc deleted %s, which main reaches: %t, %v", head.Short(), ok, err)
	}
}

// TestMoveDamagedBranch: 'folio branch -f NAME ID' sets a branch whose
// stored value is damaged (here an ID without its check, cut short on
// disk), as 'branch -D' removes one, and returns the unverified ID it
// held. One with staged changes is refused: they were staged on a head
// that cannot be read.
func TestMoveDamagedBranch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newTestRepo(t)
	folio := r.Dir()
	first, second := twoCommits(t, r)
	for _, name := range []string{"side", "staged"} {
		if err := r.CreateBranch(ctx, name, first); err != nil {
			t.Fatal(err)
		}
	}
	e, err := r.WriteDocumentBytes(ctx, []byte("staged on a branch then damaged"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.StageEdits(ctx, objects.BranchPrefix+"staged", []Edit{{Key: "s.txt", Entry: e}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(folio, storeDir)).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		return errors.Join(txn.Set([]byte("r"+objects.BranchPrefix+"side"), first[:]),
			txn.Set([]byte("r"+objects.BranchPrefix+"staged"), first[:]))
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	r, err = Open(ctx, folio, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.store.Ref(ctx, objects.BranchPrefix+"side"); !errors.Is(err, objects.ErrCorrupt) {
		t.Fatalf("the cut branch reads: %v; want ErrCorrupt", err)
	}
	if _, err := r.MoveBranch(ctx, "staged", second); !errors.Is(err, ErrStagedChanges) {
		t.Errorf("MoveBranch of a damaged branch with staged changes: %v; want ErrStagedChanges", err)
	}
	if ws, err := r.RefOrZero(ctx, WorkingSetRef(objects.BranchPrefix+"staged")); err != nil || ws.IsZero() {
		t.Errorf("the refused move lost the staged changes: %s, %v", ws.Short(), err)
	}
	was, err := r.MoveBranch(ctx, "side", second)
	if err != nil || was != first {
		t.Fatalf("MoveBranch of a damaged branch = %s, %v; want it moved from the unverified %s", was.Short(), err, first.Short())
	}
	if got, err := r.store.Ref(ctx, objects.BranchPrefix+"side"); err != nil || got != second {
		t.Errorf("side after the move: %s, %v; want %s", got.Short(), err, second.Short())
	}
	if rep, err := r.Fsck(ctx); err != nil || len(rep.Problems) != 1 || rep.Problems[0].DamagedRef != objects.BranchPrefix+"staged" {
		t.Errorf("fsck after the move: %+v, %v; want only the damaged branch with staged changes", rep, err)
	}
	if _, err := r.MoveBranch(ctx, "side", first); err != nil {
		t.Errorf("a move of the mended branch: %v", err)
	}
}

// TestMoveBranchWhoseNameWasDamaged: 'folio branch -f NAME ID' of a branch
// whose name was damaged on disk, NAME as fsck reports it, sets it as it
// sets one whose value was damaged: the read of such a name misses (its
// table's bloom filter was built from the name as written), so before,
// MoveBranch took it for a new branch and wrote over the damaged value
// without returning the unverified ID or retiring it for gc.
func TestMoveBranchWhoseNameWasDamaged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newTestRepo(t)
	first, second := twoCommits(t, r)
	const name, damaged = "Pw8nR3yTq6LdJ1mZc5VxB2hK", "Pw8nR3yTq6LdK1mZc5VxB2hK" // Flip: J -> K
	if err := r.CreateBranch(ctx, name, first); err != nil {
		t.Fatal(err)
	}
	r = reopenWithNamesDamaged(t, r, name)
	was, err := r.MoveBranch(ctx, damaged, second)
	if err != nil || was != first {
		t.Fatalf("MoveBranch of %s, damaged on disk = %s, %v; want it moved from the unverified %s", damaged, was.Short(), err, first.Short())
	}
	if rep, err := r.Fsck(ctx); err != nil || !rep.OK() || rep.Refs != 2 {
		t.Fatalf("fsck after the move: %+v, %v; want clean, with main and %s", rep, err, damaged)
	}
	if got, err := r.store.Ref(ctx, objects.BranchPrefix+damaged); err != nil || got != second {
		t.Errorf("%s after the move: %s, %v; want %s", damaged, got.Short(), err, second.Short())
	}
	// A new branch is made as before.
	if was, err := r.MoveBranch(ctx, "fresh", second); err != nil || !was.IsZero() {
		t.Errorf("MoveBranch of a new branch = %s, %v; want it made", was.Short(), err)
	}
}

// reopenWithNamesDamaged closes r, flips a byte of each name where the
// store's files hold it (damagetest.Flip), and opens the repository again.
func reopenWithNamesDamaged(t *testing.T, r *Repo, names ...string) *Repo {
	t.Helper()
	folio := r.Dir()
	r.Close()
	for _, name := range names {
		if _, err := damagetest.Flip(folio, []byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Open(context.Background(), folio, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// twoCommits commits two versions of document a on r's branch.
func twoCommits(t *testing.T, r *Repo) (first, second objects.ID) {
	t.Helper()
	put(t, r, "a", "alpha")
	first = commit(t, r, "one", 1)
	put(t, r, "a", "beta")
	return first, commit(t, r, "two", 2)
}
