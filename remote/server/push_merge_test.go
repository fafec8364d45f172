package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/transfer"
	"github.com/folio-db/folio/remote/wire"
)

// forkedLeader is a repository whose main took a write ("a") since the
// root that a peer's push starts from, and whose branch other holds the
// peer's commit ("b"). Its clock stands still, so two of them hold the
// same commits, and the same merges of them.
type forkedLeader struct {
	r                  *repo.Repo
	root, ours, theirs objects.ID
}

func newForkedLeader(t *testing.T) forkedLeader {
	t.Helper()
	ctx := context.Background()
	r, err := repo.Init(ctx, t.TempDir(), "", repo.Options{Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	root := commitDocs(t, r, mainRef, map[string]string{"root": "root"}, t0)
	if err := r.CreateBranch(ctx, "other", root); err != nil {
		t.Fatal(err)
	}
	ours := commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	theirs := commitDocs(t, r, objects.BranchPrefix+"other", map[string]string{"b": "b"}, t0)
	return forkedLeader{r: r, root: root, ours: ours, theirs: theirs}
}

// forkedTwins makes two forked leaders that hold the same commits, and
// the merge of the fork the twin makes: the one a push to the leader must
// make, as every leader merges the same inputs alike.
func forkedTwins(t *testing.T) (twin, leader forkedLeader, merged objects.ID) {
	t.Helper()
	twin, leader = newForkedLeader(t), newForkedLeader(t)
	if leader.ours != twin.ours || leader.theirs != twin.theirs {
		t.Fatal("two forked leaders hold different commits")
	}
	merged, _, err := merge.Converge(t.Context(), twin.r, twin.ours, twin.theirs)
	if err != nil {
		t.Fatal(err)
	}
	return twin, leader, merged
}

// heldPush serves leader, takes its write lock (which every document
// write takes), and sends a converging push of theirs onto main from the
// root. It waits until the push's merge of main with theirs, want, is
// stored, and returns a function that lets go of the lock and waits for
// the push's answer.
func heldPush(t *testing.T, leader forkedLeader, want objects.ID) func() (*wire.PushResponse, error) {
	t.Helper()
	return heldPushFrom(t, leader, leader.r, wire.RefUpdate{Name: mainRef, Old: leader.root, New: leader.theirs}, want)
}

// heldPushFrom is heldPush of update u, sent from src.
func heldPushFrom(t *testing.T, leader forkedLeader, src *repo.Repo, u wire.RefUpdate, want objects.ID) func() (*wire.PushResponse, error) {
	t.Helper()
	ctx := t.Context()
	repos := server.Single(leader.r)
	rp, _, err := repos.Get(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(serve(t, leader.r, server.Options{Repos: repos}), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		resp *wire.PushResponse
		err  error
	}
	done := make(chan answer, 1)
	rp.Writes().Lock()
	go func() {
		req := wire.PushRequest{Updates: []wire.RefUpdate{u}, Converge: true}
		resp, err := c.Push(ctx, req, func(pw *wire.PackWriter) error {
			_, err := transfer.Send(ctx, src.Store(), pw, []objects.ID{u.New}, []objects.ID{u.Old})
			return err
		})
		done <- answer{resp, err}
	}()
	release := func() (*wire.PushResponse, error) {
		rp.Writes().Unlock()
		a := <-done
		return a.resp, a.err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if ok, err := leader.r.Store().Has(ctx, want); err != nil || ok {
			break
		}
		if time.Now().After(deadline) {
			release()
			t.Fatalf("%s was not stored in 10 s while the write lock was held: the push waits for the lock", want.Short())
		}
	}
	return release
}

// TestConvergingPushMergesWithoutWrites: a converging push to a leader
// whose branch a write moved merges without holding the write lock that
// every document write takes: on a leader peered with two others the
// writes waited out each push's merge, tens of milliseconds under load
// (failed before: the merge was made only once the lock was free). The
// branch then moves to that very merge.
func TestConvergingPushMergesWithoutWrites(t *testing.T) {
	t.Parallel()
	_, leader, want := forkedTwins(t)
	resp, err := heldPush(t, leader, want)()
	if err != nil {
		t.Fatal(err)
	}
	if got := headOf(t, leader.r, mainRef); got != want || len(resp.Updated) != 1 ||
		resp.Updated[0].Old != leader.ours || resp.Updated[0].New != want {
		t.Fatalf("main at %s, answer %+v; want main moved from %s to the merge %s", got.Short(), resp.Updated, leader.ours.Short(), want.Short())
	}
}

// TestConvergingPushStoresItsObjectsWithoutWrites: a converging push
// stores what it brings before it takes the write lock, which then it
// holds only to move the branch: between leaders peered all-to-all a push
// brings hundreds of objects, and every document write waited while they
// were stored (failed before: they were stored with the branch move,
// once the lock was free).
func TestConvergingPushStoresItsObjectsWithoutWrites(t *testing.T) {
	t.Parallel()
	twin, leader := newForkedLeader(t), newForkedLeader(t)
	ahead := commitDocs(t, twin.r, mainRef, map[string]string{"e": "e"}, t0) // only on the twin
	resp, err := heldPushFrom(t, leader, twin.r, wire.RefUpdate{Name: mainRef, Old: leader.ours, New: ahead}, ahead)()
	if err != nil {
		t.Fatal(err)
	}
	if got := headOf(t, leader.r, mainRef); got != ahead || len(resp.Updated) != 1 || resp.Updated[0].New != ahead {
		t.Fatalf("main at %s, answer %+v; want main moved to the push's %s", got.Short(), resp.Updated, ahead.Short())
	}
}

// TestConvergingPushKeepsWritesThatCameDuringTheMerge: a write that moves
// the branch while a converging push merges is kept: holding the write
// lock, the push merges the branch as it is now with the head its first
// merge made, the same commit on every leader that holds those inputs.
func TestConvergingPushKeepsWritesThatCameDuringTheMerge(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	twin, leader, first := forkedTwins(t)
	release := heldPush(t, leader, first)
	later := commitDocs(t, leader.r, mainRef, map[string]string{"c": "c"}, t0) // a write, holding the lock
	resp, err := release()
	if err != nil {
		t.Fatal(err)
	}
	twinLater := commitDocs(t, twin.r, mainRef, map[string]string{"c": "c"}, t0)
	want, _, err := merge.Converge(ctx, twin.r, twinLater, first)
	if err != nil || twinLater != later {
		t.Fatalf("the twin's write %s (%v), the leader's %s", twinLater.Short(), err, later.Short())
	}
	got := headOf(t, leader.r, mainRef)
	if got != want || len(resp.Updated) != 1 || resp.Updated[0].Old != later || resp.Updated[0].New != want {
		t.Fatalf("main at %s, answer %+v; want main moved from the write %s to %s", got.Short(), resp.Updated, later.Short(), want.Short())
	}
	for _, id := range []objects.ID{later, leader.theirs} {
		if ok, err := merge.IsAncestor(ctx, leader.r, id, got); err != nil || !ok {
			t.Errorf("%s is not in main's head: %v", id.Short(), err)
		}
	}
	if v, ok := docAt(t, leader.r, mainRef, "c"); !ok || v != "c" {
		t.Errorf("the write reads %q, %v", v, ok)
	}
}

// TestConvergingPushRefusedWhenAMergeMovedTheBranch: when a merge, not a
// write, moves the branch while a converging push merges, the push is
// refused as one that found the branch so (merging merges again makes
// heads that hold nothing new, a storm among leaders peered all-to-all),
// and the branch stays where that merge put it.
func TestConvergingPushRefusedWhenAMergeMovedTheBranch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, leader, first := forkedTwins(t)
	if err := leader.r.CreateBranch(ctx, "third", leader.root); err != nil {
		t.Fatal(err)
	}
	third := commitDocs(t, leader.r, objects.BranchPrefix+"third", map[string]string{"d": "d"}, t0)
	release := heldPush(t, leader, first)
	other, _, err := merge.Converge(ctx, leader.r, leader.ours, third)
	if err == nil { // another peer's merge lands, holding the lock
		err = leader.r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: mainRef, Old: leader.ours, New: other})
	}
	if err != nil {
		release()
		t.Fatal(err)
	}
	if _, err := release(); !errors.Is(err, objects.ErrRefChanged) {
		t.Fatalf("the push: %v, want ErrRefChanged", err)
	}
	if got := headOf(t, leader.r, mainRef); got != other {
		t.Fatalf("main at %s, want the other merge %s", got.Short(), other.Short())
	}
}
