package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/transfer"
	"github.com/folio-db/folio/remote/wire"
)

// TestPeersConvergeAndSettle: two leaders peered both ways take writes on
// both sides, reach the same head without any sync command, and then stop
// sending requests (apart from their feeds' keep-alives).
func TestPeersConvergeAndSettle(t *testing.T) {
	t.Parallel()
	a, b := newPeered(t), newPeered(t)
	a.peer(t, b)
	b.peer(t, a)
	leaders := []*peered{a, b}

	a.commit(t, "from-a")
	waitConverged(t, leaders, "from-a")
	a.commit(t, "both-a")
	b.commit(t, "both-b")
	waitConverged(t, leaders, "from-a", "both-a", "both-b")

	waitSettled(t, leaders)
}

// TestPeersRing: five leaders, each peered with the next, take a write
// each while they sync, converge and go quiet.
func TestPeersRing(t *testing.T) {
	t.Parallel()
	var ring []*peered
	for range 5 {
		ring = append(ring, newPeered(t))
	}
	for i, l := range ring {
		l.peer(t, ring[(i+1)%len(ring)])
	}
	var keys []string
	for i, l := range ring {
		keys = append(keys, fmt.Sprint("from-", i))
		l.commit(t, keys[i])
	}
	waitConverged(t, ring, keys...)
	waitSettled(t, ring)
}

// TestPeerComesBack: a peer that is away when peering starts is retried
// with backoff; once it answers, both sides converge, and the state says
// what failed meanwhile.
func TestPeerComesBack(t *testing.T) {
	t.Parallel()
	a, b := newPeered(t), newPeered(t)
	b.down.Store(true)
	a.commit(t, "while-away")
	a.peer(t, b)
	for a.status().LastError == "" {
		time.Sleep(5 * time.Millisecond)
	}
	if st := a.status(); st.Connected {
		t.Fatalf("state while the peer is away: %+v", st)
	}
	b.down.Store(false)
	waitConverged(t, []*peered{a, b}, "while-away")
	b.commit(t, "after") // b does not peer: a hears of it through b's feed
	waitConverged(t, []*peered{a, b}, "while-away", "after")
	for !a.status().Connected {
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPeerSilentIsNoticed: a peer that stops answering without closing
// anything (a stopped process, a network that drops packets) is noticed
// by its silent change feed within a few keep-alives, not a request's
// minute: the state stops saying connected, names the silence, and the
// sync that waited on the peer is given up, to be made again once it
// answers.
func TestPeerSilentIsNoticed(t *testing.T) {
	t.Parallel()
	a, b := newPeered(t), newPeered(t)
	a.peer(t, b)
	a.commit(t, "before")
	waitConverged(t, []*peered{a, b}, "before")
	for !a.status().Connected {
		time.Sleep(5 * time.Millisecond)
	}
	b.proxy.frozen.Store(true)
	a.commit(t, "while-silent") // a sync to b starts, and hears nothing back
	for a.status().SyncingSince.IsZero() && a.status().Connected {
		time.Sleep(5 * time.Millisecond)
	}
	deadline := time.Now().Add(peerWait / 2)
	for {
		st := a.status()
		if !st.Connected && st.SyncingSince.IsZero() && strings.Contains(st.LastError, "silent") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %v after the peer went silent: want not connected, no sync waiting, and the silence named", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.proxy.frozen.Store(false)
	waitConverged(t, []*peered{a, b}, "before", "while-silent")
	for !a.status().Connected {
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRemoteNamesReadAsSomethingElse: a remote named HEAD or @, or one
// starting with '-' (which a command line reads as a flag: 'folio fetch
// -x'), is refused, as a branch so named is.
func TestRemoteNamesReadAsSomethingElse(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	for _, name := range []string{"-x", "--all", "HEAD", "@"} {
		if err := remote.Add(r.Files, name, "http://127.0.0.1:9/"); !errors.Is(err, objects.ErrInvalidRef) {
			t.Errorf("remote add %q: %v, want ErrInvalidRef", name, err)
		}
	}
	if all, err := remote.List(r.Files); err != nil || len(all) != 0 {
		t.Errorf("remotes after refused adds: %v, %v", all, err)
	}
}

// TestPeerRemote: a peer URL is a configured remote's, or gets a name its
// remote-tracking branches can live under.
func TestPeerRemote(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	if err := remote.Add(r.Files, "dc2", "https://dc2.example.com/orders/"); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"http://127.0.0.1:7420/":          "peer-127.0.0.1-7420",
		"https://dc3.example.com/orders/": "peer-dc3.example.com-orders",
		"https://dc2.example.com/orders":  "dc2",
		"http://[::1]:80/x..y":            "peer-1-80-x.y",
	} {
		rm, err := remote.PeerRemote(r.Files, in)
		if err != nil || rm.Name != want || rm.URL != in && want != "dc2" {
			t.Errorf("PeerRemote(%q) = %+v, %v; want name %q", in, rm, err, want)
		}
	}
	if _, err := remote.PeerRemote(r.Files, "not a url"); err == nil {
		t.Error("PeerRemote of a non-URL: no error")
	}
}

// TestPeerReusesConnections: a peering makes its many syncs over a few
// kept-alive connections, not a new connection (left idle) per sync: a
// leader taking steady writes would pile up idle connections, with a
// goroutine each on both sides, faster than they time out.
func TestPeerReusesConnections(t *testing.T) {
	t.Parallel()
	a, b := newPeered(t), newPeered(t)
	a.peer(t, b)
	for i := range 20 {
		a.commit(t, fmt.Sprint("k", i))
		waitConverged(t, []*peered{a, b}, fmt.Sprint("k", i))
	}
	if n := b.proxy.accepted.Load(); n > 6 {
		t.Errorf("20 syncs opened %d connections to the peer", n)
	}
}

// TestPeerPushConverges: a sync's push to a leader that took a write of
// its own since the push's fetch (the push's Old is behind) is merged in
// by that leader with the same converging merge sync makes, instead of
// being refused, so a peering's pushes land on a leader under steady
// writes. The pusher's next sync fast-forwards to that very merge. A
// plain push in the same spot is refused, and so are converging ones
// whose Old the branch never held or left by a merge, changing nothing.
func TestPeerPushConverges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := newPeered(t), newPeered(t)
	root := head(t, b.r)
	a.commit(t, "from-a")
	b.commit(t, "from-b")
	ours, theirs := head(t, a.r), head(t, b.r)
	push := func(old objects.ID, converge bool) (*wire.PushResponse, error) {
		c, err := client.New(b.url, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		req := wire.PushRequest{Updates: []wire.RefUpdate{{Name: main, Old: old, New: ours}}, Converge: converge}
		return c.Push(ctx, req, func(pw *wire.PackWriter) error {
			_, err := transfer.Send(ctx, a.r.Store(), pw, []objects.ID{ours}, []objects.ID{root})
			return err
		})
	}
	if _, err := push(root, false); !errors.Is(err, objects.ErrRefChanged) {
		t.Fatalf("a plain push with a stale Old: %v, want ErrRefChanged", err)
	}
	if _, err := push(ours, true); err == nil || head(t, b.r) != theirs {
		t.Fatalf("a converging push whose Old the branch never held: %v, head %s", err, head(t, b.r).Short())
	}
	resp, err := push(root, true)
	if err != nil {
		t.Fatal(err)
	}
	merged := head(t, b.r)
	if len(resp.Updated) != 1 || resp.Updated[0].New != merged || resp.Updated[0].Old != theirs {
		t.Fatalf("response %+v, head now %s", resp.Updated, merged.Short())
	}
	c, err := b.r.ReadCommit(ctx, merged)
	if err != nil {
		t.Fatal(err)
	}
	want := []objects.ID{ours, theirs}
	slices.SortFunc(want, objects.ID.Compare)
	if !slices.Equal(c.Parents, want) || c.Message != merge.ConvergeMessage(want[0], want[1], nil) {
		t.Fatalf("merge %s has parents %v and message %q", merged.Short(), c.Parents, c.Message)
	}
	if got := read(t, b.r, "from-a"); got != "from-a" {
		t.Fatalf("from-a reads %q on b", got)
	}
	rep, err := remote.Sync(ctx, a.r, remote.Remote{Name: "b", URL: b.url}, remote.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if head(t, a.r) != merged || rep.Branches[0].Action != "fast-forward" {
		t.Fatalf("a at %s after sync (%+v), b at %s", head(t, a.r).Short(), rep.Branches, merged.Short())
	}
	// b was last moved by a merge, not by a write of its own: a push
	// behind it is refused, as merging merges again makes heads that hold
	// nothing new (a storm among leaders peered all-to-all).
	a.commit(t, "later")
	ours = head(t, a.r)
	if _, err := push(theirs, true); !errors.Is(err, objects.ErrRefChanged) || head(t, b.r) != merged {
		t.Fatalf("a converging push behind a merge: %v, b at %s", err, head(t, b.r).Short())
	}
}

// TestPeerPushNeedsNoSyncBack: a write on a leader reaches its peer in one
// fetch and one push; the peer's feed then reports the move that push
// made, which the leader holds already, and that starts no sync (failed
// before: a third request, a fetch that found nothing to do).
func TestPeerPushNeedsNoSyncBack(t *testing.T) {
	t.Parallel()
	a, b := newPeered(t), newPeered(t)
	a.peer(t, b)
	leaders := []*peered{a, b}
	waitSettled(t, leaders)
	for i := range 3 {
		before := b.requests.Load()
		key := fmt.Sprint("k", i)
		a.commit(t, key)
		waitConverged(t, leaders, key)
		waitSettled(t, leaders)
		if n := b.requests.Load() - before; n != 2 {
			t.Errorf("write %d: %d requests to the peer, want 2 (a fetch and a push)", i, n)
		}
	}
}

// TestPeeringsOfARepositorySyncOneAtATime: the peerings of one
// repository that share Turns (as folio serve's do) never sync at the
// same time: leaders peered all-to-all that did fetched and pushed the
// same commits over both peerings. Each peer's server holds a fetch until
// another fetch comes (or a second passes), so peerings that sync at once
// are caught (failed before, without Turns: two fetches at once).
func TestPeeringsOfARepositorySyncOneAtATime(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	inFlight, most := 0, 0
	another := make(chan struct{})
	var twoAtOnce sync.Once
	holdFetches := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if !strings.HasSuffix(req.URL.Path, wire.PathFetch) {
				h.ServeHTTP(w, req)
				return
			}
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			if inFlight == 2 {
				twoAtOnce.Do(func() { close(another) })
			}
			mu.Unlock()
			select {
			case <-another:
			case <-time.After(time.Second):
			}
			h.ServeHTTP(w, req)
			mu.Lock()
			inFlight--
			mu.Unlock()
		})
	}
	var peers []remote.Remote
	for i := range 2 {
		srv := httptest.NewServer(holdFetches(server.New(server.Options{Repos: server.Single(newRepo(t))})))
		t.Cleanup(srv.Close)
		peers = append(peers, remote.Remote{Name: fmt.Sprint("peer", i), URL: srv.URL + "/"})
	}
	leader := newRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() }) // before the servers close
	turns := remote.NewTurns()
	var states [2]remote.PeerState
	for i, rm := range peers {
		wg.Go(func() {
			remote.Peer(ctx, leader, rm, remote.PeerOptions{Turns: turns, State: &states[i]})
		})
	}
	for deadline := time.Now().Add(10 * time.Second); states[0].Status().Syncs == 0 || states[1].Status().Syncs == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the peerings did not each sync within 10 s")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most != 1 {
		t.Errorf("%d fetches at once, want one at a time", most)
	}
}

// TestSyncPushesNothingThePeerHolds: a sync's push leaves out the commits
// the peer holds though none of its branches reaches them (here fetched
// by the peer, as a leader peered all-to-all gets another's writes
// between a sync's fetch and its push). Failed before: the push sent
// every commit past the peer's advertised head again.
func TestSyncPushesNothingThePeerHolds(t *testing.T) {
	t.Parallel()
	syncSendsNothingThePeerFetched(t, 2*remote.MinHeldAsk)
}

// TestSyncAsksAboutTheNewestCommits: a push with more commits to send than
// one v1/has question takes asks about the newest of them. The remote
// holds everything a held commit reaches, so a newest one held spares the
// whole history below it. Failed before: the question named the oldest
// (the list is parent first, cut at the end), so the push sent the rest.
func TestSyncAsksAboutTheNewestCommits(t *testing.T) {
	remote.SetHeldAskLimit(t, remote.MinHeldAsk)
	syncSendsNothingThePeerFetched(t, 4*remote.MinHeldAsk)
}

// syncSendsNothingThePeerFetched makes commits on a leader, has its peer
// fetch them, then syncs the leader with the peer: the sync's push must
// send nothing.
func syncSendsNothingThePeerFetched(t *testing.T, commits int) {
	t.Helper()
	ctx := context.Background()
	a, b := newPeered(t), newPeered(t)
	for i := range commits {
		a.commit(t, fmt.Sprint("k", i))
	}
	if _, err := remote.Fetch(ctx, b.r, remote.Remote{Name: "a", URL: a.url}, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	rep, err := remote.Sync(ctx, a.r, remote.Remote{Name: "b", URL: b.url}, remote.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if head(t, b.r) != head(t, a.r) {
		t.Fatalf("b at %s, want a's head %s", head(t, b.r).Short(), head(t, a.r).Short())
	}
	if rep.ObjectsSent != 0 {
		t.Errorf("the push sent %d objects, want 0: the peer held them all", rep.ObjectsSent)
	}
}
