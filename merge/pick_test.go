package merge

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// Pick on a real store: a cherry-pick brings one commit's change and not
// its ancestors'; a revert takes one change out and keeps the rest; a merge
// commit is refused, and so is a change already applied, each moving
// nothing.
func TestPick(t *testing.T) {
	ctx := context.Background()
	r := newDiskRepo(t)
	base := commitDocs(t, r, "base", 0, docs{"a": "1\n", "b": "1\n"})
	side1 := commitDocs(t, r, "side: a", 10, docs{"a": "side\n", "b": "1\n"}, base)
	side2 := commitDocs(t, r, "side: c", 20, docs{"a": "side\n", "b": "1\n", "c": "new\n"}, side1)
	main := commitDocs(t, r, "main: b", 30, docs{"a": "1\n", "b": "main\n"}, base)
	setBranch(t, r, main)

	opts := PickOptions{Author: tester, Time: epoch.Add(100e9)}
	res, err := Pick(ctx, r, side2, opts)
	if err != nil {
		t.Fatal(err)
	}
	picked := readCommit(t, r, res.Commit)
	if want := (docs{"a": "1\n", "b": "main\n", "c": "new\n"}); !maps.Equal(readDocs(t, r, picked.Index), want) {
		t.Errorf("cherry-pick of side2 gives %v, want %v (side1's change left out)", readDocs(t, r, picked.Index), want)
	}
	if len(picked.Parents) != 1 || picked.Parents[0] != main || picked.Author != tester {
		t.Errorf("cherry-pick commit: parents %v, author %v", picked.Parents, picked.Author)
	}

	res, err = Pick(ctx, r, main, PickOptions{Revert: true, Author: tester, Time: epoch.Add(200e9)})
	if err != nil {
		t.Fatal(err)
	}
	reverted := readCommit(t, r, res.Commit)
	if want := (docs{"a": "1\n", "b": "1\n", "c": "new\n"}); !maps.Equal(readDocs(t, r, reverted.Index), want) {
		t.Errorf("revert of main gives %v, want %v", readDocs(t, r, reverted.Index), want)
	}

	head := branchHead(t, r)
	if _, err := Pick(ctx, r, side2, opts); !errors.Is(err, repo.ErrNothingToCommit) {
		t.Errorf("picking an applied change: %v, want ErrNothingToCommit", err)
	}
	merged := commitDocs(t, r, "merge", 300, docs{"a": "x\n"}, main, side2)
	if _, err := Pick(ctx, r, merged, opts); !errors.Is(err, ErrMergeCommit) {
		t.Errorf("picking a merge: %v, want ErrMergeCommit", err)
	}
	if got := branchHead(t, r); got != head {
		t.Errorf("a refused pick moved the branch from %s to %s", head.Short(), got.Short())
	}
}

func setBranch(t *testing.T, r *repo.Repo, id objects.ID) {
	t.Helper()
	if err := r.Store().UpdateRefs(context.Background(), objects.RefUpdate{Name: objects.BranchPrefix + "main", New: id}); err != nil {
		t.Fatal(err)
	}
}

func branchHead(t *testing.T, r *repo.Repo) objects.ID {
	t.Helper()
	id, err := r.Store().Ref(context.Background(), objects.BranchPrefix+"main")
	if err != nil {
		t.Fatal(err)
	}
	return id
}
