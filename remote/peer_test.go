package remote_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// peered is a leader served on 127.0.0.1 that counts the requests it gets
// other than its change feed's.
type peered struct {
	down     atomic.Bool // answer every request 503, as a leader that is away
	state    remote.PeerState
	r        *repo.Repo
	srv      *server.Repo
	url      string
	requests atomic.Int64
}

func newPeered(t testing.TB) *peered {
	t.Helper()
	r, err := repo.Init(context.Background(), t.TempDir(), "", repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	// Every leader starts from the same root commit, as clones of one
	// repository do: peers with unrelated histories are refused, as sync
	// refuses them.
	ctx := context.Background()
	at := time.Unix(1_700_000_000, 0).UTC()
	root, err := r.WriteCommit(ctx, &objects.Commit{Author: objects.Signature{Name: "t", Email: "t@example.com"},
		Time: at, CommitTime: at, Message: "root"})
	if err == nil {
		err = r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: main, New: root})
	}
	if err != nil {
		t.Fatal(err)
	}
	p := &peered{r: r}
	repos := server.Single(p.r)
	p.srv, _, _ = repos.Get(context.Background(), "")
	h := server.New(server.Options{Repos: repos})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if p.down.Load() {
			http.Error(w, "away", http.StatusServiceUnavailable)
			return
		}
		if !strings.HasSuffix(req.URL.Path, wire.PathChanges) {
			p.requests.Add(1)
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL + "/"
	return p
}

func (p *peered) commit(t *testing.T, key string) {
	t.Helper()
	p.srv.Writes().Lock()
	defer p.srv.Writes().Unlock()
	commitDoc(t, p.r, key)
}

// peer runs remote.Peer from p to other until the test ends.
func (p *peered) peer(t testing.TB, other *peered) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		remote.Peer(ctx, p.r, remote.Remote{Name: "peer", URL: other.url}, remote.PeerOptions{
			SyncOptions: remote.SyncOptions{Writes: p.srv.Writes()}, State: &p.state,
			Heartbeat: 20 * time.Millisecond, Backoff: 10 * time.Millisecond})
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// waitConverged waits until every leader's main is the same commit and
// holds every key; the test's deadline bounds the wait.
// peerWait bounds how long peered leaders may take to converge or settle,
// so a peering that never does fails the test instead of hanging it.
const peerWait = 2 * time.Minute

func waitConverged(t *testing.T, leaders []*peered, keys ...string) {
	t.Helper()
	deadline := time.Now().Add(peerWait)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("the leaders did not converge within %s", peerWait)
		}
		same := true
		for _, l := range leaders[1:] {
			same = same && head(t, l.r) == head(t, leaders[0].r)
		}
		if same {
			for _, k := range keys {
				if _, _, err := leaders[0].r.ResolveDocument(context.Background(), "main", k); err != nil {
					same = false
				}
			}
		}
		if same {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

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

// waitSettled waits until every peering has synced and owes nothing and
// the leaders' request count stops moving (bounded by the test deadline;
// a storm of echoed syncs would never stop), then checks they hold one
// head. A sync may still be backing off after a lost race when the heads
// first agree, so the states are waited for too.
func waitSettled(t *testing.T, leaders []*peered) {
	t.Helper()
	settled := func() bool {
		for _, l := range leaders {
			st := l.state.Status()
			if !st.Connected || st.Syncs < 1 || st.BehindBy != 0 || st.URL == "" {
				return false
			}
		}
		return true
	}
	requests := func() (n int64) {
		for _, l := range leaders {
			n += l.requests.Load()
		}
		return n
	}
	last := int64(-1)
	deadline := time.Now().Add(peerWait)
	for quiet := 0; quiet < 20; {
		if time.Now().After(deadline) {
			t.Fatalf("the leaders did not settle within %s", peerWait)
		}
		time.Sleep(10 * time.Millisecond)
		if n := requests(); n == last && settled() {
			quiet++
		} else {
			last, quiet = n, 0
		}
	}
	for _, l := range leaders[1:] {
		if h := head(t, l.r); h != head(t, leaders[0].r) {
			t.Errorf("settled on two heads, %s and %s", h.Short(), head(t, leaders[0].r).Short())
		}
	}
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
	for a.state.Status().LastError == "" {
		time.Sleep(5 * time.Millisecond)
	}
	if st := a.state.Status(); st.Connected {
		t.Fatalf("state while the peer is away: %+v", st)
	}
	b.down.Store(false)
	waitConverged(t, []*peered{a, b}, "while-away")
	b.commit(t, "after") // b does not peer: a hears of it through b's feed
	waitConverged(t, []*peered{a, b}, "while-away", "after")
	for !a.state.Status().Connected {
		time.Sleep(5 * time.Millisecond)
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
