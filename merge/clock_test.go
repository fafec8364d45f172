package merge

import (
	"context"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/objects/repo"
)

// clockRepo is a repository whose clock reads *now.
func clockRepo(t testing.TB, now *time.Time) *repo.Repo {
	t.Helper()
	r, err := repo.Init(context.Background(), t.TempDir(), "", repo.Options{Store: memstore.New(), Clock: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// commitAt writes a commit of d on parents with the given author date; the
// commit time comes from the repository's clock.
func commitAt(t testing.TB, r *repo.Repo, authorDate time.Time, d docs, parents ...objects.ID) objects.ID {
	t.Helper()
	id, err := r.WriteCommit(context.Background(), &objects.Commit{Index: writeIndex(t, r, d), Parents: parents,
		Author: tester, Time: authorDate, Message: "edit"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// The reproduction of issue 7: a commit whose author date says 2099 lost
// nothing of its power to win, and its date rode into the merge commit.
// The winner is the side with the later commit time (the leader's clock),
// whatever the author dates say, and a converging merge commit's dates are
// its parents' commit times.
func TestWinnerIgnoresAuthorDate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 21, 0, 0, 0, time.UTC)
	r := clockRepo(t, &now)
	base := commitAt(t, r, now, docs{"doc.txt": "base\n"})

	now = now.Add(time.Second)
	ours := commitAt(t, r, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), docs{"doc.txt": "ours, dated 2099\n"}, base)
	now = now.Add(time.Second) // theirs is made later in real time
	theirs := commitAt(t, r, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), docs{"doc.txt": "theirs, made later\n"}, base)

	for _, order := range [][2]objects.ID{{ours, theirs}, {theirs, ours}} {
		res, err := Heads(ctx, r, order[0], order[1])
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Conflicted) != 1 {
			t.Fatalf("conflicts %+v, want one", res.Conflicted)
		}
		got := readDocs(t, r, res.Index)["doc.txt"]
		if got != "theirs, made later\n" {
			t.Errorf("merged %s into %s: the merge holds %q, want the later commit's version", order[1].Short(), order[0].Short(), got)
		}
	}

	merged, _, err := Converge(ctx, r, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	c := readCommit(t, r, merged)
	if !c.CommitTime.Equal(now) || !c.Time.Equal(now) {
		t.Errorf("converging merge: author date %s, commit time %s; want both the later parent's commit time %s", c.Time, c.CommitTime, now)
	}
}

// Two leaders whose clocks are an hour apart still converge: each merges
// the same two heads into the same commit, and a commit the slow leader
// makes after the merge is newer than the merge, so it wins a later
// conflict against the merged state.
func TestConvergeWithClocksAnHourApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	real := time.Date(2026, 12, 3, 21, 0, 0, 0, time.UTC)
	fast, slow := real.Add(time.Hour), real
	rf, rs := clockRepo(t, &fast), clockRepo(t, &slow)

	base := commitAt(t, rf, time.Time{}, docs{"doc.txt": "base\n", "other.txt": "x\n"})
	copyObjects(t, rs.Store(), rf.Store())

	fast, slow = fast.Add(time.Minute), slow.Add(2*time.Minute) // slow edits later in real time
	a := commitAt(t, rf, time.Time{}, docs{"doc.txt": "fast\n", "other.txt": "x\n"}, base)
	b := commitAt(t, rs, time.Time{}, docs{"doc.txt": "slow\n", "other.txt": "x\n"}, base)
	copyObjects(t, rs.Store(), rf.Store())
	copyObjects(t, rf.Store(), rs.Store())

	mf, _, err := Converge(ctx, rf, a, b)
	if err != nil {
		t.Fatal(err)
	}
	ms, _, err := Converge(ctx, rs, b, a)
	if err != nil {
		t.Fatal(err)
	}
	if mf != ms {
		t.Fatalf("the fast leader merged into %s, the slow one into %s", mf.Short(), ms.Short())
	}
	// The slow leader edits on top of the merge: its clock is an hour
	// behind the merge's commit time, the commit is still newer.
	slow = slow.Add(time.Minute)
	after := commitAt(t, rs, time.Time{}, docs{"doc.txt": "slow again\n", "other.txt": "x\n"}, ms)
	if ca, cm := readCommit(t, rs, after), readCommit(t, rs, ms); !ca.CommitTime.After(cm.CommitTime) {
		t.Fatalf("commit after the merge at %s, the merge at %s", ca.CommitTime, cm.CommitTime)
	}
	// Meanwhile the fast leader changed the other document; both converge
	// again to the same commit, which keeps the slow leader's last edit.
	fast = fast.Add(time.Minute)
	c := commitAt(t, rf, time.Time{}, docs{"doc.txt": readDocs(t, rf, readCommit(t, rf, mf).Index)["doc.txt"], "other.txt": "y\n"}, mf)
	copyObjects(t, rs.Store(), rf.Store())
	copyObjects(t, rf.Store(), rs.Store())
	m2f, _, err := Converge(ctx, rf, c, after)
	if err != nil {
		t.Fatal(err)
	}
	m2s, _, err := Converge(ctx, rs, after, c)
	if err != nil {
		t.Fatal(err)
	}
	if m2f != m2s {
		t.Fatalf("second merge: %s and %s", m2f.Short(), m2s.Short())
	}
	if got := readDocs(t, rs, readCommit(t, rs, m2s).Index); got["doc.txt"] != "slow again\n" || got["other.txt"] != "y\n" {
		t.Errorf("after the second merge: %v", got)
	}
}
