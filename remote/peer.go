package remote

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
)

// PeerOptions configure Peer.
type PeerOptions struct {
	SyncOptions
	// Heartbeat is the keep-alive interval asked of the peer's feed (0:
	// PeerHeartbeat).
	Heartbeat time.Duration
	// Backoff is the first wait after a failed sync, doubled up to
	// MaxBackoff while failures go on (defaults: one second, one minute).
	Backoff, MaxBackoff time.Duration
	// OnSync, when set, is told of every sync (for the server's log).
	OnSync func(*SyncReport, error)
	// State, when set, is kept up to date for GET /v1/peers.
	State *PeerState
	// Turns, when set, is shared by the peerings of one repository: each
	// sync takes a turn, so that they sync one at a time (see Turns).
	Turns Turns
}

// Turns lets the peerings of one repository sync one at a time. Leaders
// peered all-to-all that synced with every peer at once fetched and
// pushed the same commits over each peering (the fetch from one peer
// asked before the other's push landed), and half of what arrived was
// here already; a sync that waits for the other's to end finds those
// commits here, and sends its peer less.
type Turns chan struct{}

// NewTurns returns the turns of one repository's peerings.
func NewTurns() Turns { return make(Turns, 1) }

// take waits for a turn; false if ctx ended first.
func (t Turns) take(ctx context.Context) bool {
	if t == nil {
		return true
	}
	select {
	case t <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (t Turns) give() {
	if t != nil {
		<-t
	}
}

// PeerHeartbeat is the keep-alive interval a peering asks of its peer's
// change feed by default. The feed is how a peering knows its peer is
// there: one that brings nothing, not even a keep-alive, for
// silentHeartbeats of them (and at least minSilence) is a peer stopped,
// or cut off by a network that drops packets without resetting anything.
// The sync waiting on it is then given up, rather than after a request's
// minute, and the state says so.
const PeerHeartbeat = 5 * time.Second

const (
	silentHeartbeats = 3
	minSilence       = 2 * time.Second
)

// errPeerSilent: the peer's feed brought nothing for a while.
var errPeerSilent = errors.New("the peer went silent")

// PeerState is how a peering stands.
type PeerState struct {
	mu sync.Mutex
	s  PeerStatus
}

// PeerStatus is a snapshot of a PeerState, as GET /v1/peers reports it.
type PeerStatus struct {
	URL       string    `json:"url"`
	Connected bool      `json:"connected"`            // the last sync succeeded, and the peer has not gone silent since
	BehindBy  uint64    `json:"behind_by"`            // peer changes seen since the last sync began
	Syncs     int       `json:"syncs"`                // syncs made
	LastSync  time.Time `json:"last_sync,omitzero"`   // when the last sync ended
	LastError string    `json:"last_error,omitempty"` // of the last sync that failed
	// SyncingSince is when the sync under way began (zero: none is).
	SyncingSince time.Time `json:"syncing_since,omitzero"`
}

// Status returns a snapshot.
func (p *PeerState) Status() PeerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.s
}

func (p *PeerState) update(fn func(*PeerStatus)) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(&p.s)
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
	// One HTTP client for the peering's feed and every sync: each sync
	// otherwise dials anew and leaves its connections idle, a pile (and a
	// goroutine each on both sides) that grows with the write rate.
	if opts.HTTP == nil {
		opts.HTTP = client.NewHTTPClient(opts.Timeouts, nil)
		defer opts.HTTP.CloseIdleConnections()
	}
	// The feed's client gives up on a peer that has said nothing for a
	// few heartbeats; the syncs keep the usual timeouts.
	heartbeat := cmp.Or(opts.Heartbeat, PeerHeartbeat)
	silence := max(silentHeartbeats*heartbeat, minSilence)
	feedOpts := opts.Options
	feedOpts.Timeouts = client.Timeouts{Connect: silence, Handshake: silence, Reply: silence, Stall: silence}
	feedClient, err := newClient(rm, feedOpts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var syncing inflight
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}

	// Follow the peer's feed from where it stands now, read before the
	// first sync, so that no move of the peer after that sync is missed.
	since, err := feedClient.Changes(ctx, client.ChangesRequest{Now: true}, nil)
	if err != nil && ctx.Err() != nil {
		return nil
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	go func() {
		defer wg.Done()
		q := FeedQuery{Since: since, Now: err != nil} // unreachable now: from whenever it answers
		// Each (re)connection syncs once more: the peer may have moved
		// while the feed was not followed.
		Watch(ctx, ServerFeed{Client: feedClient, Heartbeat: heartbeat, Opened: poke}, WatchOptions{FeedQuery: q,
			Backoff: opts.Backoff, MaxBackoff: opts.MaxBackoff,
			OnReset: func(uint64) { poke() },
			OnError: func(err error) {
				if !errors.Is(err, client.ErrTimeout) {
					return // refused or reset: a sync fails on its own
				}
				syncing.giveUp()
				opts.State.update(func(s *PeerStatus) {
					s.Connected = false
					s.LastError = fmt.Sprintf("%v: its change feed brought nothing, not even a keep-alive, for %v", errPeerSilent, silence)
				})
			},
		}, func(ch objects.Change) error {
			if heldHere(ctx, r, ch) {
				return nil
			}
			opts.State.update(func(s *PeerStatus) { s.BehindBy++ })
			poke()
			return nil
		})
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

	opts.State.update(func(s *PeerStatus) { s.URL = rm.URL })
	poke()
	wait := opts.Backoff
	// A push that lost a race to the peer's own writes is not retried
	// inside Sync after a backoff: the peer's move that beat it is already
	// a kick, and the next sync pulls that move at once. Backoffs inside
	// Sync held the pull back for seconds while the peer kept writing.
	opts.Attempts = 1
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		}
		if !opts.Turns.take(ctx) {
			return nil
		}
		var behind uint64
		opts.State.update(func(s *PeerStatus) { behind, s.SyncingSince = s.BehindBy, time.Now() })
		syncCtx := syncing.start(ctx)
		rep, err := Sync(syncCtx, r, rm, opts.SyncOptions)
		opts.Turns.give()
		if gaveUp := syncing.end(); err != nil && gaveUp {
			err = fmt.Errorf("%w: its change feed brought nothing, not even a keep-alive, for %v; the sync waiting on it was given up", errPeerSilent, silence)
		}
		if ctx.Err() != nil {
			return nil
		}
		raced := err != nil && retryable(err)
		if raced {
			poke()
		}
		opts.State.update(func(s *PeerStatus) {
			s.Syncs++
			s.LastSync, s.Connected, s.SyncingSince = time.Now(), err == nil || raced, time.Time{}
			if err != nil {
				s.LastError = err.Error()
			} else {
				s.BehindBy -= min(behind, s.BehindBy) // what came during the sync is still owed
			}
		})
		if opts.OnSync != nil {
			opts.OnSync(rep, err)
		}
		if err == nil || raced {
			wait = opts.Backoff
			continue
		}
		sleep(ctx, wait) // then try again, whether or not anything moved
		wait = min(2*wait, opts.MaxBackoff)
		poke()
	}
}

// inflight is a peering's sync under way, which the feed's watcher gives
// up when the peer goes silent.
type inflight struct {
	mu     sync.Mutex
	cancel context.CancelCauseFunc // nil: no sync under way
	gaveUp bool
}

func (f *inflight) start(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancelCause(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancel, f.gaveUp = cancel, false
	return ctx
}

// end ends the sync under way, and reports whether it was given up.
func (f *inflight) end() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		f.cancel(nil)
	}
	f.cancel = nil
	return f.gaveUp
}

func (f *inflight) giveUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		f.cancel(errPeerSilent)
		f.gaveUp = true
	}
}

// heldHere reports whether a move of the peer's branch is to a commit
// the branch here holds already: most often this leader's own push
// landing, which needs no sync back (a fetch that finds nothing). If the
// branch here holds more, its moves kicked a sync of their own.
func heldHere(ctx context.Context, r *repo.Repo, ch objects.Change) bool {
	if ch.New == nil {
		return false
	}
	local, err := r.RefOrZero(ctx, objects.BranchPrefix+ch.Branch)
	if err != nil || local.IsZero() {
		return false
	}
	if local == *ch.New {
		return true
	}
	if ok, err := r.Store().Has(ctx, *ch.New); err != nil || !ok {
		return false
	}
	ok, err := merge.IsAncestor(ctx, r, *ch.New, local)
	return err == nil && ok
}

// PeerRemote is the remote Peer uses for a URL: a remote of the
// repository's own with that URL (its name picks its token), or else one
// named after the URL's host, port and path ("peer-dc2.example.com-7420"),
// under which its remote-tracking branches are kept.
func PeerRemote(f *repo.Files, rawURL string) (Remote, error) {
	all, err := List(f)
	if err != nil {
		return Remote{}, err
	}
	for _, rm := range all {
		if strings.TrimSuffix(rm.URL, "/") == strings.TrimSuffix(rawURL, "/") {
			return rm, nil
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return Remote{}, fmt.Errorf("peer %q: want an http:// or https:// URL or a remote's name", rawURL)
	}
	var b strings.Builder
	for _, r := range u.Host + u.Path {
		ok := r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_')
		switch {
		case r == '.' && strings.HasSuffix(b.String(), "."): // ".." is no part of a ref name
		case ok:
			b.WriteRune(r)
		case !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	name := "peer-" + strings.Trim(b.String(), "-.")
	if err := objects.ValidateRefName(objects.RemotePrefix + name + "/main"); err != nil {
		return Remote{}, fmt.Errorf("peer %q: cannot name it (add it as a remote): %w", rawURL, err)
	}
	return Remote{Name: name, URL: rawURL}, nil
}

// ConfiguredPeers are the remotes marked as peers in the repository's
// config (remote.NAME.peer = true), which folio serve keeps converged
// like those named by --peer.
func ConfiguredPeers(f *repo.Files) ([]Remote, error) {
	cfg, err := f.LocalConfig()
	if err != nil {
		return nil, err
	}
	all, err := List(f)
	if err != nil {
		return nil, err
	}
	var out []Remote
	for _, rm := range all {
		if cfg["remote."+rm.Name+".peer"] == "true" {
			out = append(out, rm)
		}
	}
	return out, nil
}
