package remote

import (
	"context"
	"sync"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
)

// PeerOptions configure Peer.
type PeerOptions struct {
	SyncOptions
	// Heartbeat is the keep-alive interval asked of the peer's feed (0:
	// the server's default).
	Heartbeat time.Duration
	// Backoff is the first wait after a failed sync, doubled up to
	// MaxBackoff while failures go on (defaults: one second, one minute).
	Backoff, MaxBackoff time.Duration
	// OnSync, when set, is told of every sync (for the server's log).
	OnSync func(*SyncReport, error)
}

// Peer keeps r converged with the leader rm until ctx ends: it syncs once
// at the start, then whenever a branch of r moves in this process or rm's
// change feed says one of its branches moved, with the same converging
// merge as Sync. Kicks that come during a sync make one more sync, not one
// each. A sync that finds the heads equal moves nothing and so kicks
// nothing, which is why two leaders peered both ways (or a ring) settle
// once writes stop instead of echoing each other's moves.
func Peer(ctx context.Context, r *repo.Repo, rm Remote, opts PeerOptions) error {
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	c, err := newClient(rm, opts.Options)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}

	// Follow the peer's feed from where it stands now, read before the
	// first sync, so that no move of the peer after that sync is missed.
	since, err := c.Changes(ctx, client.ChangesRequest{Now: true}, nil)
	if err != nil && ctx.Err() != nil {
		return nil
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	go func() {
		defer wg.Done()
		q := FeedQuery{Since: since, Now: err != nil} // unreachable now: from whenever it answers
		Watch(ctx, ServerFeed{Client: c, Heartbeat: opts.Heartbeat}, WatchOptions{FeedQuery: q,
			Backoff: opts.Backoff, MaxBackoff: opts.MaxBackoff,
			OnReset: func(uint64) { poke() },
		}, func(objects.Change) error { poke(); return nil })
	}()
	go func() {
		defer wg.Done()
		for {
			moved, err := r.Moved()
			if err != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-moved:
				poke()
			}
		}
	}()

	poke()
	wait := opts.Backoff
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		}
		rep, err := Sync(ctx, r, rm, opts.SyncOptions)
		if ctx.Err() != nil {
			return nil
		}
		if opts.OnSync != nil {
			opts.OnSync(rep, err)
		}
		if err == nil {
			wait = opts.Backoff
			continue
		}
		sleep(ctx, wait) // then try again, whether or not anything moved
		wait = min(2*wait, opts.MaxBackoff)
		poke()
	}
}
