package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/server"
)

// peerSet is the peerings folio serve --peer runs.
type peerSet struct {
	cancel  context.CancelFunc
	release func() // of the repository the peerings hold
	wg      sync.WaitGroup
	states  []*remote.PeerState
}

// startPeers keeps the one served repository converged with each peer
// until stop.
func (a *app) startPeers(ctx context.Context, repos server.Repos, peers []string, logger *slog.Logger) (*peerSet, error) {
	sr, release, err := repos.Get(ctx, "")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			release()
		}
	}()
	rms, err := remote.ConfiguredPeers(sr.Files)
	if err != nil {
		return nil, err
	}
	for _, p := range peers {
		rm, err := a.remoteArg(p)
		if err == nil && rm.Name == "" {
			rm, err = remote.PeerRemote(sr.Files, rm.URL)
		}
		if err != nil {
			return nil, err
		}
		rms = append(rms, rm)
	}
	ctx, cancel := context.WithCancel(ctx)
	ps := &peerSet{cancel: cancel, release: release}
	ok = true
	turns := remote.NewTurns()
	for _, rm := range rms {
		state := &remote.PeerState{}
		ps.states = append(ps.states, state)
		ps.wg.Add(1)
		go func() {
			defer ps.wg.Done()
			err := remote.Peer(ctx, sr.Repo, rm, remote.PeerOptions{
				SyncOptions: remote.SyncOptions{Writes: sr.Writes()},
				State:       state,
				Turns:       turns,
				OnSync: func(rep *remote.SyncReport, err error) {
					if err != nil {
						logger.Warn("peer sync failed", "peer", rm.URL, "err", err)
						return
					}
					for _, b := range rep.Branches {
						if b.Action != "up-to-date" {
							logger.Info("peer sync", "peer", rm.URL, "branch", b.Branch, "action", b.Action, "head", b.Head)
						}
					}
				},
			})
			if err != nil {
				logger.Error("peering stopped", "peer", rm.URL, "err", err)
			}
		}()
	}
	return ps, nil
}

// stop ends every peering and waits for them.
func (ps *peerSet) stop() {
	ps.cancel()
	ps.wg.Wait()
	ps.release()
}

func (ps *peerSet) statuses() []remote.PeerStatus {
	out := make([]remote.PeerStatus, len(ps.states))
	for i, s := range ps.states {
		out[i] = s.Status()
	}
	return out
}
