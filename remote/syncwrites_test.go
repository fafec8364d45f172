package remote_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
)

// writesProbe is the lock a server's document writes take (SyncOptions.
// Writes), which runs onLock each time a sync asks for it, before taking it.
type writesProbe struct {
	sync.Mutex
	onLock func()
}

func (p *writesProbe) Lock() {
	if p.onLock != nil {
		p.onLock()
	}
	p.Mutex.Lock()
}

// divergedLeader is a clone of a served hub, where the hub and the clone
// then took a write each, so that a sync must merge.
func divergedLeader(t *testing.T) (hub, leader *repo.Repo, origin remote.Remote) {
	t.Helper()
	hub = newRepo(t)
	write(t, hub, map[string]string{"base": "b"})
	origin = remote.Remote{Name: "origin", URL: serve(t, hub, nil)}
	leader, _, err := remote.Clone(context.Background(), origin.URL, filepath.Join(t.TempDir(), "l"), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { leader.Close() })
	write(t, hub, map[string]string{"from-hub": "h"})
	write(t, leader, map[string]string{"from-leader": "l"})
	return hub, leader, origin
}

// TestSyncMergesBeforeTakingWrites: the merge a sync makes is stored
// before the sync takes the document writes' lock, which then only covers
// the branch's move: the server's document writes, which wait on that
// lock, do not wait for merges (failed before: the merge was made under
// the lock).
func TestSyncMergesBeforeTakingWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub, leader, origin := divergedLeader(t)
	storedAtLock := map[objects.ID]bool{}
	probe := &writesProbe{onLock: func() {
		err := leader.Store().Objects(ctx, nil, func(id objects.ID, _ []byte) error {
			storedAtLock[id] = true
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}}
	rep, err := remote.Sync(ctx, leader, origin, remote.SyncOptions{Writes: probe})
	if err != nil {
		t.Fatal(err)
	}
	h := head(t, leader)
	if rep.Branches[0].Action != "merged" || h != head(t, hub) {
		t.Fatalf("sync: %+v; heads %s here, %s on the hub", rep.Branches, h.Short(), head(t, hub).Short())
	}
	if !storedAtLock[h] {
		t.Errorf("the merge %s was made while the document writes' lock was held", h.Short())
	}
}

// TestSyncConvergesWritesMadeDuringItsMerge: document writes that move
// the branch while a sync merges (before it takes their lock) are
// converged with the merge, and the result is what the remote gets: no
// write is lost, and the sync needs no second round.
func TestSyncConvergesWritesMadeDuringItsMerge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub, leader, origin := divergedLeader(t)
	var during objects.ID
	probe := &writesProbe{}
	probe.onLock = func() {
		if during.IsZero() {
			during = write(t, leader, map[string]string{"during": "d"})
		}
	}
	rep, err := remote.Sync(ctx, leader, origin, remote.SyncOptions{Attempts: 1, Writes: probe})
	if err != nil {
		t.Fatal(err)
	}
	h := head(t, leader)
	if h != head(t, hub) || rep.Branches[0].Action != "merged" {
		t.Fatalf("sync: %+v; heads %s here, %s on the hub", rep.Branches, h.Short(), head(t, hub).Short())
	}
	if ok, err := merge.IsAncestor(ctx, leader, during, h); err != nil || !ok {
		t.Fatalf("the write made during the merge is not in the head: %v", err)
	}
	for key, want := range map[string]string{"from-hub": "h", "from-leader": "l", "during": "d"} {
		if got := read(t, hub, key); got != want {
			t.Errorf("%s on the hub: %q, want %q", key, got, want)
		}
	}
}
