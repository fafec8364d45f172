package remote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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

// peered is a leader served on 127.0.0.1 behind a proxy that can cut its
// connections, that counts the requests it gets other than its change
// feed's, and that can be stopped and started again (its repository
// outlives it in a folder; its peerings stop and start with it).
type peered struct {
	name     string
	dir      string // its .folio folder
	proxy    *cutProxy
	url      string      // through the proxy: the same across restarts
	down     atomic.Bool // answer every request 503, as a leader that is away
	requests atomic.Int64

	turns remote.Turns // its peerings sync one at a time, as folio serve's do

	mu    sync.Mutex // guards what a restart replaces
	r     *repo.Repo
	srv   *server.Repo
	hs    *httptest.Server
	links []*peerLink
}

// peerLink is one peering of a leader with another (serve --peer).
type peerLink struct {
	to    *peered
	state remote.PeerState
	stop  func()
	// What its syncs moved, for the benchmarks: objects received and
	// sent, and merges made here.
	received, sent, merges atomic.Int64
}

var leaderCount atomic.Int64

func newPeered(t testing.TB) *peered {
	t.Helper()
	work := t.TempDir()
	r, err := repo.Init(context.Background(), work, "", repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
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
	if err == nil {
		err = r.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	p := &peered{name: fmt.Sprint("l", leaderCount.Add(1)), dir: filepath.Join(work, repo.DirName), proxy: newCutProxy(t), turns: remote.NewTurns()}
	p.url = "http://" + p.proxy.l.Addr().String() + "/"
	p.start(t)
	t.Cleanup(p.stop)
	return p
}

// start opens the repository, serves it and starts its peerings.
func (p *peered) start(t testing.TB) {
	t.Helper()
	r, err := repo.Open(context.Background(), p.dir, repo.Options{RecentBytes: server.RecentBytes}) // as folio serve opens it
	if err != nil {
		t.Fatal(err)
	}
	repos := server.Single(r)
	srv, _, _ := repos.Get(context.Background(), "")
	h := server.New(server.Options{Repos: repos})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if p.down.Load() {
			http.Error(w, "away", http.StatusServiceUnavailable)
			return
		}
		if !strings.HasSuffix(req.URL.Path, wire.PathChanges) {
			p.requests.Add(1)
		}
		h.ServeHTTP(w, req)
	}))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.r, p.srv, p.hs = r, srv, hs
	p.proxy.setTarget(hs.Listener.Addr().String())
	for _, l := range p.links {
		p.run(l)
	}
}

// stop ends its peerings, cuts its connections, stops its server and
// closes its repository, as a leader that goes away; start brings it back.
func (p *peered) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hs == nil {
		return
	}
	for _, l := range p.links {
		l.stop()
	}
	p.proxy.setTarget("")
	p.hs.CloseClientConnections()
	p.hs.Close()
	p.r.Close()
	p.hs = nil
}

// restart stops the leader and starts it again after a pause.
func (p *peered) restart(t testing.TB, pause time.Duration) {
	p.stop()
	time.Sleep(pause)
	p.start(t)
}

// run starts peering l with the repository now open.
func (p *peered) run(l *peerLink) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r, writes := p.r, p.srv.Writes()
	go func() {
		defer close(done)
		remote.Peer(ctx, r, remote.Remote{Name: "peer-" + l.to.name, URL: l.to.url}, remote.PeerOptions{
			SyncOptions: remote.SyncOptions{Writes: writes}, State: &l.state, Turns: p.turns, OnSync: l.count,
			Heartbeat: 20 * time.Millisecond, Backoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	}()
	l.stop = func() { cancel(); <-done }
}

// count adds what a sync moved to the link's counts.
func (l *peerLink) count(rep *remote.SyncReport, _ error) {
	if rep == nil {
		return
	}
	l.received.Add(int64(rep.ObjectsReceived))
	l.sent.Add(int64(rep.ObjectsSent))
	for _, b := range rep.Branches {
		if b.Action == "merged" {
			l.merges.Add(1)
		}
	}
}

// peer keeps p converged with other (as folio serve --peer) until the test
// ends, across restarts of p.
func (p *peered) peer(t testing.TB, other *peered) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := &peerLink{to: other}
	p.links = append(p.links, l)
	p.run(l)
}

// direct makes p's URL its server's own, not its proxy's: for benchmarks,
// which neither restart leaders nor cut connections, so that what they
// measure is the leaders, not the proxies' copying. Call it before any
// leader peers with p.
func (p *peered) direct() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.url = p.hs.URL + "/"
}

// status is the state of p's first peering.
func (p *peered) status() remote.PeerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.links[0].state.Status()
}

func (p *peered) commit(t *testing.T, key string) {
	t.Helper()
	p.commitBody(t, key, key)
}

// commitBody is commit with the document's body. A sync moves the
// branch without the write lock (by compare-and-swap), so the commit may
// find the branch moved: it tries again, as a document write does.
func (p *peered) commitBody(t *testing.T, key, body string) {
	t.Helper()
	p.srv.Writes().Lock()
	defer p.srv.Writes().Unlock()
	err := tryCommitDocBody(p.r, key, body)
	for try := 1; try < 5 && errors.Is(err, objects.ErrRefChanged); try++ {
		err = tryCommitDocBody(p.r, key, body)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// cutProxy forwards TCP connections to a target that can change, and cuts
// them all on demand, as a network that fails.
type cutProxy struct {
	l      net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	target string // "": refuse
	conns  map[net.Conn]bool
	// accepted counts the connections it took.
	accepted atomic.Int64
	// frozen holds every byte back, in both directions, on connections
	// open and new: a leader stopped (SIGSTOP) or a network that drops
	// packets without resetting anything.
	frozen atomic.Bool
}

func newCutProxy(t testing.TB) *cutProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.pipe(c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		p.frozen.Store(false)
		p.setTarget("")
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) pipe(c net.Conn) {
	defer c.Close()
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	if target == "" {
		return
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	p.mu.Lock()
	if p.target != target { // cut or moved while dialling
		p.mu.Unlock()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { p.forward(up, c); done <- struct{}{} }()
	go func() { p.forward(c, up); done <- struct{}{} }()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
	c.Close()
	up.Close()
	<-done
}

// forward copies src to dst until either fails, holding what it read
// while the proxy is frozen.
func (p *cutProxy) forward(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for p.frozen.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// setTarget cuts every connection and sends new ones to addr.
func (p *cutProxy) setTarget(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = addr
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// cut cuts every connection open now.
func (p *cutProxy) cut() {
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	p.setTarget(target)
}

// peerWait bounds how long peered leaders may take to converge or settle,
// so a peering that never does fails the test instead of hanging it.
const peerWait = 30 * time.Second

// waitConverged waits until every leader's main is the same commit and
// holds every key, within peerWait.
func waitConverged(t testing.TB, leaders []*peered, keys ...string) {
	t.Helper()
	deadline := time.Now().Add(peerWait)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("the leaders did not converge within %s:\n%s", peerWait, describeLeaders(t, leaders))
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

// waitSettled waits until every peering has synced and owes nothing and
// the leaders' request count stops moving (within peerWait: a storm of
// echoed syncs would never stop), then checks they hold one head. A sync
// may still be backing off after a lost race when the heads first agree,
// so the states are waited for too.
func waitSettled(t testing.TB, leaders []*peered) {
	t.Helper()
	settled := func() bool {
		for _, l := range leaders {
			l.mu.Lock()
			for _, pl := range l.links {
				st := pl.state.Status()
				if !st.Connected || st.Syncs < 1 || st.BehindBy != 0 || st.URL == "" {
					l.mu.Unlock()
					return false
				}
			}
			l.mu.Unlock()
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
			t.Fatalf("the leaders did not settle within %s:\n%s", peerWait, describeLeaders(t, leaders))
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

// docClient is the applications' client: short timeouts, as a write that
// hangs on a cut connection is simply not acknowledged.
var docClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// putDoc writes a document through a leader's document API and returns
// the commit it acknowledged.
func putDoc(ctx context.Context, base, key string, body []byte) (objects.ID, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+wire.PathDocs+"/"+key, bytes.NewReader(body))
	if err != nil {
		return objects.ID{}, err
	}
	resp, err := docClient.Do(req)
	if err != nil {
		return objects.ID{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return objects.ID{}, fmt.Errorf("put %s: %s %s", key, resp.Status, msg)
	}
	var out struct {
		Commit objects.ID `json:"commit"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out.Commit, err
}

// describeLeaders says where each leader and its peerings stand.
func describeLeaders(t testing.TB, leaders []*peered) string {
	var b strings.Builder
	for _, l := range leaders {
		l.mu.Lock()
		fmt.Fprintf(&b, "%s at %s, %d requests\n", l.name, head(t, l.r).Short(), l.requests.Load())
		for _, pl := range l.links {
			fmt.Fprintf(&b, "  peer %s: %+v\n", pl.to.name, pl.state.Status())
		}
		l.mu.Unlock()
	}
	return b.String()
}
