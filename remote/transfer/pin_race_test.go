package transfer

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

// pausingStore is the real store, which stops once Has has answered for
// id: the test lets a sweep run between Admit's look at the store and
// what Admit does next.
type pausingStore struct {
	objects.ObjectReader
	id             objects.ID
	paused, resume chan struct{}
}

func (s *pausingStore) Has(ctx context.Context, id objects.ID) (bool, error) {
	ok, err := s.ObjectReader.Has(ctx, id)
	if id == s.id && s.paused != nil {
		close(s.paused)
		s.paused = nil
		<-s.resume
	}
	return ok, err
}

// A commit arrives in a receive's quarantine while the store lacks it;
// then the store gets it, with all it reaches (another receive of the
// same commit whose ref update failed), old and unreachable to a gc. Admit sees it stored, so
// it does not promote the quarantine's copy, and trusts the store's; the
// gc's sweep deletes that copy before the receive pins; the pin finds
// the commit in the quarantine and is content. Failed before: main named
// a commit the store did not hold.
func TestGCKeepsWhatAdmitSawStoredAfterItArrived(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := newRepo(t, false), newRepo(t, true)
	stage(t, src, someDocs(20, "v1"))
	// The sweep deletes commits first: its first batch takes tip.
	tip := commit(t, src, "tip")
	qr, err := dst.Store().Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Discard()
	got, err := Receive(ctx, qr, wire.NewPackReader(sendPack(t, src, tip, objects.ID{}), wire.Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	var stored []objects.Object
	for id := range closure(t, src, tip) {
		data, err := src.Store().Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, objects.Object{ID: id, Data: data})
	}
	if err := dst.Store().Put(ctx, stored...); err != nil {
		t.Fatal(err)
	}
	// Garbage, deleted after tip (blobs go last), for more than one batch
	// of deletes (badgerstore's sweepBatch is 1024).
	const sweepBatch = 1024
	var garbage []objects.Object
	for i := range sweepBatch + 1 {
		garbage = append(garbage, objects.EncodeBlob(fmt.Appendf(nil, "garbage %d", i)))
	}
	if err := dst.Store().Put(ctx, garbage...); err != nil {
		t.Fatal(err)
	}

	store := &pausingStore{ObjectReader: dst.Store(), id: tip, paused: make(chan struct{}), resume: make(chan struct{})}
	paused, resume := store.paused, store.resume
	done := make(chan error, 1)
	var received error
	n := 0
	wait := func(c <-chan struct{}, what string) {
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatal(what)
		}
	}
	_, err = dst.GC(ctx, repo.GCOptions{Found: func(objects.ID, int64) {
		switch n++; n {
		case 1: // Admit looks at the store, then waits
			go func() {
				keep, err := Admit(ctx, qr, store, got, tip)
				if err == nil {
					err = qr.Promote(ctx, keep, objects.RefUpdate{Name: main, New: tip})
				}
				done <- err
			}()
			wait(paused, "Admit never asked the store about tip")
		case sweepBatch + 1: // the first batch (tip, unless kept) is deleted: Admit goes on
			close(resume)
			select {
			case received = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the receive never ended")
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if n <= sweepBatch {
		t.Fatalf("the gc found %d objects to delete: the receive never went on", n)
	}
	if received != nil {
		// Refused, and sent again whole, it succeeds.
		if !errors.Is(received, objects.ErrNotFound) {
			t.Fatalf("the receive failed with %v, want not found", received)
		}
		if got, err := dst.RefOrZero(ctx, main); err != nil || !got.IsZero() {
			t.Fatalf("the refused receive moved main to %s (%v)", got.Short(), err)
		}
		return
	}
	wantWhole(t, dst, tip)
}
