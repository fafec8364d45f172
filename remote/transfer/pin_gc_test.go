package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

// These tests race a receive against a gc of the same store, as a server
// runs them: the gc marks before the receive's ref update and sweeps
// after it. The receive trusts objects the store holds without writing
// them again (held drops them, Admit stops at them); those that are old
// and that no ref reached when the gc marked must still survive its sweep.
// The gc's Found hook, called for each object it is about to delete,
// places the receive inside the sweep: deterministically, without sleeps.

// oldGarbage brings tip's closure from src into dst under a branch, then
// deletes the branch: its objects are unreachable, and old to a gc with
// no grace period.
func oldGarbage(t *testing.T, src, dst *repo.Repo, tip objects.ID) {
	t.Helper()
	ctx := context.Background()
	if _, err := admitPack(dst.Store(), sendPack(t, src, tip, objects.ID{}), []objects.ID{tip}); err != nil {
		t.Fatal(err)
	}
	gone := objects.BranchPrefix + "gone"
	if err := dst.Store().UpdateRefs(ctx, objects.RefUpdate{Name: gone, New: tip}); err != nil {
		t.Fatal(err)
	}
	if err := dst.Store().UpdateRefs(ctx, objects.RefUpdate{Name: gone, Old: tip}); err != nil {
		t.Fatal(err)
	}
}

// receiveToMain is a push of pack that moves main to tip: Receive into a
// quarantine, Admit, Promote with the ref update.
func receiveToMain(dst *repo.Repo, pack io.Reader, tip objects.ID) (*Received, error) {
	return admitPack(dst.Store(), pack, []objects.ID{tip}, objects.RefUpdate{Name: main, New: tip})
}

// gcDuring runs a gc of dst with no grace period and calls during once,
// inside its sweep, at the first object to delete for which at says so.
func gcDuring(t *testing.T, dst *repo.Repo, at func(n int) bool, during func()) *repo.GCReport {
	t.Helper()
	n, done := 0, false
	rep, err := dst.GC(context.Background(), repo.GCOptions{Found: func(objects.ID, int64) {
		n++
		if !done && at(n) {
			done = true
			during()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !done {
		t.Fatalf("the gc found %d objects to delete and never reached the receive", n)
	}
	return rep
}

func first(n int) bool { return n == 1 }

// wantWhole fails unless fsck finds dst whole and main at tip.
func wantWhole(t *testing.T, dst *repo.Repo, tip objects.ID) {
	t.Helper()
	ctx := context.Background()
	rep, err := dst.Fsck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("a ref reaches missing objects: %d problems, the first %+v", len(rep.Problems), rep.Problems[0])
	}
	if got, err := dst.RefOrZero(ctx, main); err != nil || got != tip {
		t.Fatalf("main is %s (%v), want %s", got.Short(), err, tip.Short())
	}
	assertComplete(t, dst, tip)
}

// oldParentAndChild makes, in src, c1 (300 documents) and c2 (c1 with one
// document changed), and brings c1 into dst as old garbage.
func oldParentAndChild(t *testing.T) (src, dst *repo.Repo, c1, c2 objects.ID) {
	src, dst = newRepo(t, false), newRepo(t, true)
	stage(t, src, someDocs(300, "v1"))
	c1 = commit(t, src, "c1")
	stage(t, src, map[string]string{"docs/00007.json": `{"changed": true}`})
	c2 = commit(t, src, "c2")
	oldGarbage(t, src, dst, c1)
	return src, dst, c1, c2
}

// (a) The receiver said it holds c1 (v1/has), so the pack holds only what
// c2 changed: Admit stops at c1 and at the leaves c2 shares with it.
// Failed before pins: the sweep deleted c1 and those leaves under main.
func TestGCKeepsWhatAdmitStopsAt(t *testing.T) {
	t.Parallel()
	src, dst, c1, c2 := oldParentAndChild(t)
	pack := sendPack(t, src, c2, c1)
	gcDuring(t, dst, first, func() {
		if _, err := receiveToMain(dst, pack, c2); err != nil {
			t.Fatal(err)
		}
	})
	wantWhole(t, dst, c2)
}

// (a) again, with the receive checked before the gc began and its ref
// update made, and its pins released, while the gc sweeps: the gc read
// the refs before the update, so it keeps what was pinned when it began
// until it ends.
func TestGCKeepsPinsReleasedDuringItsSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst, c1, c2 := oldParentAndChild(t)
	qr, err := dst.Store().Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Discard()
	got, err := Receive(ctx, qr, wire.NewPackReader(sendPack(t, src, c2, c1), wire.Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	keep, err := Admit(ctx, qr, dst.Store(), got, c2)
	if err != nil {
		t.Fatal(err)
	}
	// Garbage the pins do not keep, for the hook to run on.
	if err := dst.Store().Put(ctx, objects.EncodeBlob([]byte("garbage"))); err != nil {
		t.Fatal(err)
	}
	gcDuring(t, dst, first, func() {
		if err := qr.Promote(ctx, keep, objects.RefUpdate{Name: main, New: c2}); err != nil {
			t.Fatal(err)
		}
		qr.Discard()
	})
	wantWhole(t, dst, c2)
}

// (b) The pack holds everything, but the receiver drops the maps it holds
// already (held) and writes only the documents again. Failed before pins:
// the sweep deleted the dropped leaves under main.
func TestGCKeepsWhatHeldDrops(t *testing.T) {
	t.Parallel()
	_, dst, _, _ := oldParentAndChild(t)
	other := newRepo(t, false)
	docs := someDocs(300, "v1")
	docs["zz-extra.json"] = `{"extra": true}`
	stage(t, other, docs)
	c3 := commit(t, other, "the same documents and one more, with no history")
	pack := sendPack(t, other, c3, objects.ID{})
	gcDuring(t, dst, first, func() {
		got, err := receiveToMain(dst, pack, c3)
		if err != nil {
			t.Fatal(err)
		}
		if got.Held == 0 {
			t.Fatal("the receiver held none of the pack's maps: the test tests nothing")
		}
	})
	wantWhole(t, dst, c3)
}

// (c) The sweep deletes a batch at a time, commits first (badgerstore's
// reference order): when the receive comes, the first batch has already
// deleted the commit it names, which the receiver said it holds (v1/has)
// when the sender asked, so the pack does not carry it. The receive must
// fail, as not found (the sender's cue to send everything), and move no
// ref; sent again after the gc, it succeeds.
func TestReceiveFailsWhenTheSweepCutWhatItTrusts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := newRepo(t, false), newRepo(t, true)
	stage(t, src, someDocs(300, "v1"))
	c1 := commit(t, src, "c1")
	oldGarbage(t, src, dst, c1)
	closed := closure(t, dst, c1)
	// Garbage enough for more than one batch of deletes (badgerstore's
	// sweepBatch is 1024).
	const sweepBatch = 1024
	var garbage []objects.Object
	for i := range sweepBatch {
		garbage = append(garbage, objects.EncodeBlob(fmt.Appendf(nil, "garbage %d", i)))
	}
	if err := dst.Store().Put(ctx, garbage...); err != nil {
		t.Fatal(err)
	}
	afterFirstBatch := func(n int) bool { return n == sweepBatch+1 }
	gcDuring(t, dst, afterFirstBatch, func() {
		cut := 0
		for id := range closed {
			if ok, err := dst.Store().Has(ctx, id); err != nil {
				t.Fatal(err)
			} else if !ok {
				cut++
			}
		}
		if ok, _ := dst.Store().Has(ctx, c1); ok || cut == 0 {
			t.Fatalf("the first batch should delete c1 and part of its closure: c1 held %v, %d of %d gone", ok, cut, len(closed))
		}
		// The receiver holds c1 (v1/has): the pack is empty.
		_, err := receiveToMain(dst, sendPack(t, src, c1, c1), c1)
		if !errors.Is(err, objects.ErrNotFound) || !errors.Is(err, ErrCollectedHere) {
			t.Fatalf("a receive naming a commit whose closure the sweep cut: %v, want not found, collected here", err)
		}
		if got, err := dst.RefOrZero(ctx, main); err != nil || !got.IsZero() {
			t.Fatalf("the refused receive moved main to %s (%v)", got.Short(), err)
		}
	})
	if _, err := receiveToMain(dst, sendPack(t, src, c1, objects.ID{}), c1); err != nil {
		t.Fatalf("sent again after the gc: %v", err)
	}
	wantWhole(t, dst, c1)
}

// (d) With no gc running, pins change nothing: the receive succeeds as
// before, and once it is done they keep nothing from a later gc.
func TestPinsWithoutACollectionChangeNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst, c1, c2 := oldParentAndChild(t)
	if _, err := receiveToMain(dst, sendPack(t, src, c2, c1), c2); err != nil {
		t.Fatal(err)
	}
	wantWhole(t, dst, c2)
	if err := dst.Store().UpdateRefs(ctx, objects.RefUpdate{Name: main, Old: c2}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.GC(ctx, repo.GCOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []objects.ID{c1, c2} {
		if ok, err := dst.Store().Has(ctx, id); err != nil || ok {
			t.Errorf("commit %s outlived a gc after its receive was done (held %v, %v)", id.Short(), ok, err)
		}
	}
}

// Receives and gcs of one store, run at the same time without hooks, in
// whatever order the scheduler picks (run it with -race): each round
// names an old commit again under a branch, from an empty pack while the
// store holds the commit and from a whole one when a gc took it, and then
// deletes the branch. A receive may be refused (as not found); one that
// succeeds leaves its commit whole for as long as the branch names it.
func TestReceivesAndCollectionsAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := newRepo(t, false), newRepo(t, true)
	stage(t, src, someDocs(200, "v1"))
	c1 := commit(t, src, "c1")
	ref := objects.BranchPrefix + "again"
	done := make(chan struct{})
	gcs := make(chan error, 1)
	go func() {
		defer close(gcs)
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := dst.GC(ctx, repo.GCOptions{}); err != nil {
				gcs <- err
				return
			}
		}
	}()
	succeeded := 0
	for range 30 {
		base := c1
		if ok, err := dst.Store().Has(ctx, c1); err != nil {
			t.Fatal(err)
		} else if !ok {
			base = objects.ID{} // gone: send it whole
		}
		qr, err := dst.Store().Quarantine(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Receive(ctx, qr, wire.NewPackReader(sendPack(t, src, c1, base), wire.Limits{}))
		var keep func(objects.ID) bool
		if err == nil {
			keep, err = Admit(ctx, qr, dst.Store(), got, c1)
		}
		if err == nil {
			err = qr.Promote(ctx, keep, objects.RefUpdate{Name: ref, New: c1})
		}
		qr.Discard()
		if errors.Is(err, objects.ErrNotFound) || errors.Is(err, ErrMissingReference) {
			continue // refused: the gc took what the receive found
		}
		if err != nil {
			t.Fatal(err)
		}
		succeeded++
		assertComplete(t, dst, c1)
		if err := dst.Store().UpdateRefs(ctx, objects.RefUpdate{Name: ref, Old: c1}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if err := <-gcs; err != nil {
		t.Fatal(err)
	}
	if succeeded == 0 {
		t.Fatal("no receive succeeded")
	}
	t.Logf("%d of 30 receives succeeded", succeeded)
}
