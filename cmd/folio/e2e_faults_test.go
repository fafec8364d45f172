package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/folio-db/folio/objects"
)

// The fault tests put real folio CLI processes and a real folio serve
// process on either side of a network that fails: connections cut after N
// bytes, a pack with a damaged byte or cut short, wrong tokens, and pushes
// racing each other. Each case must end with a clear error, no ref moved
// on the receiving side (and no ref on either side pointing at a missing
// object: fsck), and a retry that succeeds.

// TestFaultConnectionCut cuts the connection after N bytes, for N spread
// over a fetch and over a push (requests and replies counted together), at
// the TCP level between the client and the server; and, for a push, in the
// reply, after the server has moved its branch.
func TestFaultConnectionCut(t *testing.T) {
	t.Parallel()
	seed := testSeed(t)
	for _, dir := range []string{"fetch", "push"} {
		t.Run(dir, func(t *testing.T) {
			var proxy *cutProxy
			rig := newFaultRig(t, seed, func(target string) string {
				proxy = newCutProxy(t, target)
				return proxy.url()
			})
			rig.onRestart = proxy.setTarget
			transfer := rig.fetch
			if dir == "push" {
				transfer = rig.push
			}
			proxy.arm(-1, false)
			transfer.prepare()
			transfer.expectOK(rig.run(transfer.args...))
			_, total, fromServer := proxy.disarm()
			t.Logf("a clean %s moves %d bytes, %d of them from the server", dir, total, fromServer)
			cuts := spread(rig.rng, total)
			if dir == "push" {
				// What the server sends (the refs listing, and the reply
				// to the push) does not vary in size: cut in the reply.
				for _, back := range []int64{120, 40, 1} {
					cuts = append(cuts, cutPoint{n: fromServer - back, reply: true})
				}
			}
			for _, c := range cuts {
				cutTransfer(t, rig, proxy, transfer, c, total)
			}
			rig.finish()
		})
	}
}

// cutPoint is where a connection is cut: after n bytes, both directions
// counted, or with reply set, after n bytes from the server.
type cutPoint struct {
	n     int64
	reply bool
}

// spread returns cut points over a transfer of about total bytes: the
// first bytes of the request, evenly spaced points, random ones, and points
// in the last bytes.
func spread(rng *rand.Rand, total int64) []cutPoint {
	points := []int64{0, 16, total * 1 / 5, total * 2 / 5, total * 3 / 5, total * 4 / 5,
		rng.Int64N(total), rng.Int64N(total), total - 150, total - 50, total - 1}
	out := make([]cutPoint, len(points))
	for i, n := range points {
		out[i] = cutPoint{n: n}
	}
	return out
}

// cutTransfer runs a transfer through a connection cut at c and checks
// what it left: a clear error, nothing half done, and a retry that works.
func cutTransfer(t *testing.T, rig *faultRig, proxy *cutProxy, tr *transfer, c cutPoint, total int64) {
	t.Helper()
	what := fmt.Sprintf("%s cut after %d of about %d bytes", tr.args[0], c.n, total)
	if c.reply {
		what = fmt.Sprintf("%s cut after %d bytes of the server's", tr.args[0], c.n)
	}
	tr.prepare()
	before := tr.state()
	proxy.arm(c.n, c.reply)
	res := rig.run(tr.args...)
	cut, _, _ := proxy.disarm()
	// Transfers differ a little in size: a cut meant for the last bytes
	// may come after the end.
	late := !c.reply && c.n >= total*9/10
	switch {
	case !cut && late:
		t.Logf("%s: the transfer ended first", what)
		tr.expectOK(res)
		return
	case !cut:
		t.Fatalf("%s: the proxy did not cut:\n%v", what, res)
	case res.code == 0 && !late && !c.reply:
		t.Fatalf("%s: succeeded:\n%v", what, res)
	case res.code != 0:
		wantClearError(t, what, res, "connection", "EOF", "reset", "truncated", "broken pipe")
	}
	switch {
	case c.reply:
		// The server moved its branch before it replied: the push
		// landed even though the client may not know it.
		if after := tr.state(); sameRefs(before, after) {
			t.Fatalf("%s: the push did not land before the reply (exit %d)", what, res.code)
		}
	case !late:
		tr.unchanged(what, before)
	}
	rig.checkReceiver(what, tr)
	tr.expectOK(rig.run(tr.args...)) // the retry
}

// TestFaultDamagedPack damages the pack of a push and of a fetch in an
// HTTP proxy: one flipped byte (at the header, the first chunk length, the
// middle, the count, the checksum, or anywhere), or the pack cut short
// while the HTTP message itself stays well formed, so only the pack format
// can tell. The receiver must reject it before moving any ref.
func TestFaultDamagedPack(t *testing.T) {
	t.Parallel()
	seed := testSeed(t)
	damages := []struct {
		name  string
		apply func(rng *rand.Rand, pack []byte) []byte
	}{
		{"flip magic", flipAt(func(n int) int { return 0 })},
		{"flip first chunk length", flipAt(func(n int) int { return 8 })},
		{"flip a third in", flipAt(func(n int) int { return n / 3 })},
		{"flip middle", flipAt(func(n int) int { return n / 2 })},
		{"flip count", flipAt(func(n int) int { return n - 5 })},
		{"flip checksum", flipAt(func(n int) int { return n - 1 })},
		{"flip random", func(rng *rand.Rand, pack []byte) []byte { pack[rng.IntN(len(pack))] ^= 0x5a; return pack }},
		{"truncate to nothing", truncateAt(func(n int) int { return 0 })},
		{"truncate after the header", truncateAt(func(n int) int { return 8 })},
		{"truncate in the middle", truncateAt(func(n int) int { return n / 2 })},
		{"truncate the checksum", truncateAt(func(n int) int { return n - 2 })},
		{"truncate the last byte", truncateAt(func(n int) int { return n - 1 })},
	}
	for _, dir := range []string{"fetch", "push"} {
		t.Run(dir, func(t *testing.T) {
			var proxy *tamperProxy
			rig := newFaultRig(t, seed, func(target string) string {
				proxy = newTamperProxy(t, target)
				return proxy.URL
			})
			rig.onRestart = proxy.setTarget
			transfer := rig.fetch
			if dir == "push" {
				transfer = rig.push
			}
			for _, d := range damages {
				what := dir + ": " + d.name
				transfer.prepare()
				before := transfer.state()
				proxy.damageNext(dir == "push", func(pack []byte) []byte { return d.apply(rig.rng, pack) })
				res := rig.run(transfer.args...)
				if !proxy.damaged() {
					t.Fatalf("%s: no pack went through the proxy:\n%v", what, res)
				}
				if res.code != 1 {
					t.Fatalf("%s: want exit 1:\n%v", what, res)
				}
				wantClearError(t, what, res, "corrupt", "truncated", "checksum", "too large")
				transfer.unchanged(what, before)
				rig.checkReceiver(what, transfer)
				transfer.expectOK(rig.run(transfer.args...))
			}
			rig.finish()
		})
	}
}

func flipAt(at func(n int) int) func(*rand.Rand, []byte) []byte {
	return func(_ *rand.Rand, pack []byte) []byte {
		pack[at(len(pack))] ^= 0x5a
		return pack
	}
}

func truncateAt(at func(n int) int) func(*rand.Rand, []byte) []byte {
	return func(_ *rand.Rand, pack []byte) []byte { return pack[:at(len(pack))] }
}

// TestFaultAuth serves a repository with --auth: no token and an unknown
// token get 401, a read-only token that pushes gets 403, each reported as
// a clear CLI error that changes nothing; the right token then works.
func TestFaultAuth(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	root := t.TempDir()
	authFile := filepath.Join(root, "auth.json")
	writer := strings.TrimSpace(e.must(root, "serve", "token", "add", "ci", "--scope", "read-write", "--auth", authFile))
	reader := strings.TrimSpace(e.must(root, "serve", "token", "add", "dashboard", "--scope", "read", "--auth", authFile))
	upDir := filepath.Join(root, "up")
	e.must(root, "init", upDir)
	up := e.serve(upDir, "--auth", authFile)
	if st, _, err := writeDoc(up.url, "a.json", []byte(`{"a": 1}`), "Authorization: Bearer "+writer); err != nil || st != http.StatusCreated {
		t.Fatalf("write with the read-write token: %d %v", st, err)
	}
	if st, _, err := writeDoc(up.url, "b.json", []byte(`{"b": 1}`), "Authorization: Bearer "+reader); err != nil || st != http.StatusForbidden {
		t.Fatalf("write with the read-only token: %d %v, want 403", st, err)
	}
	clone := filepath.Join(root, "clone")
	for _, c := range []struct{ name, token, want string }{
		{"no token", "", "unauthorized"},
		{"unknown token", "folio_not-a-token", "unknown token"},
	} {
		res := e.runEnv(root, []string{"FOLIO_TOKEN=" + c.token}, "clone", up.url, clone)
		if res.code != 1 {
			t.Fatalf("clone with %s: want exit 1:\n%v", c.name, res)
		}
		wantClearError(t, "clone with "+c.name, res, c.want)
		if _, err := os.Stat(clone); !os.IsNotExist(err) {
			t.Fatalf("clone with %s left %s behind (%v)", c.name, clone, err)
		}
	}
	withToken := func(token string, args ...string) result {
		return e.runEnv(clone, []string{"FOLIO_TOKEN=" + token}, args...)
	}
	if res := e.runEnv(root, []string{"FOLIO_TOKEN=" + reader}, "clone", up.url, clone); res.code != 0 {
		t.Fatalf("clone with the read-only token:\n%v", res)
	}
	batch := writeBatch(t, rand.New(rand.NewPCG(1, 2)), 3)
	e.must(clone, "import", batch, "--prefix", "from-clone")
	e.must(clone, "commit", "-m", "from the clone")
	before := mainHead(t, up)
	for _, c := range []struct{ name, token, want string }{
		{"read-only token", reader, "read-only"},
		{"unknown token", "folio_not-a-token", "unknown token"},
	} {
		res := withToken(c.token, "push")
		if res.code != 1 {
			t.Fatalf("push with the %s: want exit 1:\n%v", c.name, res)
		}
		wantClearError(t, "push with the "+c.name, res, c.want)
		if got := mainHead(t, up); got != before {
			t.Fatalf("push with the %s moved main from %s to %s", c.name, before.Short(), got.Short())
		}
	}
	up.stop(t)
	e.fsckClean(upDir, "server after the refused pushes")
	e.fsckClean(clone, "client after the refused pushes")
	up = e.serve(upDir, "--auth", authFile)
	e.must(clone, "remote", "remove", "origin")
	e.must(clone, "remote", "add", "origin", up.url)
	if res := withToken(writer, "push"); res.code != 0 {
		t.Fatalf("push with the read-write token:\n%v", res)
	}
	if got, want := mainHead(t, up), localRefs(t, clone)[objects.BranchPrefix+"main"]; got != want {
		t.Fatalf("after the push the server's main is %s, the clone's %s", got.Short(), want.Short())
	}
	up.stop(t)
	e.fsckClean(upDir, "server")
	e.fsckClean(clone, "client")
}

// TestFaultPushRace: pushes to the same branch from different leaders.
// Exactly one wins; the others get an error that says to fetch first, and
// folio sync, which retries, converges them all.
func TestFaultPushRace(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	root := t.TempDir()
	upDir := filepath.Join(root, "up")
	e.must(root, "init", upDir)
	up := e.serve(upDir)
	if st, _, err := writeDoc(up.url, "seed.json", []byte(`{"seed": true}`)); err != nil || st != http.StatusCreated {
		t.Fatalf("seed: %d %v", st, err)
	}
	proxy := newTamperProxy(t, up.url)
	clients := make([]string, 3)
	for i := range clients {
		clients[i] = filepath.Join(root, fmt.Sprintf("c%d", i))
		from := up.url
		if i == 0 {
			from = proxy.URL // c0 pushes through a proxy that can hold its push
		}
		e.must(root, "clone", from, clients[i])
	}
	rng := rand.New(rand.NewPCG(3, 4))
	commit := func(i int, round string) objects.ID {
		e.must(clients[i], "import", writeBatch(t, rng, 2), "--prefix", fmt.Sprintf("%s/c%d", round, i))
		e.must(clients[i], "commit", "-m", round)
		return localRefs(t, clients[i])[objects.BranchPrefix+"main"]
	}
	var ours []objects.ID // every commit a client made

	// The race decided at the server: c0 has read the refs and sent its
	// push, which the proxy holds until c1's push has landed.
	c0, c1 := commit(0, "held"), commit(1, "held")
	ours = append(ours, c0, c1)
	arrived, release := proxy.holdNextPush()
	var held result
	var wg sync.WaitGroup
	wg.Go(func() { held = e.run(clients[0], "push") })
	<-arrived
	if res := e.run(clients[1], "push"); res.code != 0 {
		t.Fatalf("the push that was not held:\n%v", res)
	}
	release()
	wg.Wait()
	if held.code != 1 {
		t.Fatalf("the held push, which lost the race: want exit 1:\n%v", held)
	}
	wantClearError(t, "the held push", held, "ref changed") // refused by the server's compare-and-swap
	wantClearError(t, "the held push", held, "fetch")
	if got := mainHead(t, up); got != c1 {
		t.Fatalf("main is at %s, want the winner's %s", got.Short(), c1.Short())
	}
	res := e.run(clients[0], "push") // now it knows it is behind
	if res.code != 1 {
		t.Fatalf("pushing again without fetching: want exit 1:\n%v", res)
	}
	wantClearError(t, "pushing again without fetching", res, "fetch")
	if res := e.run(clients[0], "sync"); res.code != 0 {
		t.Fatalf("sync after losing the race:\n%v", res)
	}

	// Free races: every client pushes at once; exactly one wins.
	for round := range 3 {
		name := fmt.Sprintf("race%d", round)
		for range 2 { // the second pass brings every client to the same head
			for _, c := range clients {
				if res := e.run(c, "sync"); res.code != 0 {
					t.Fatalf("%s: %v", name, res)
				}
			}
		}
		for i := range clients {
			ours = append(ours, commit(i, name))
		}
		results := make([]result, len(clients))
		for i := range clients {
			wg.Go(func() { results[i] = e.run(clients[i], "push") })
		}
		wg.Wait()
		winners := 0
		for i, res := range results {
			switch res.code {
			case 0:
				winners++
				if got, want := mainHead(t, up), localRefs(t, clients[i])[objects.BranchPrefix+"main"]; got != want {
					t.Fatalf("%s: c%d won, but main is at %s, not its %s", name, i, got.Short(), want.Short())
				}
			case 1:
				wantClearError(t, name+": a push that lost", res, "fetch")
			default:
				t.Fatalf("%s: %v", name, res)
			}
		}
		if winners != 1 {
			t.Fatalf("%s: %d pushes won, want exactly 1:\n%v", name, winners, results)
		}
	}

	// Concurrent syncs retry lost races until every commit is in.
	for round := range 2 {
		results := make([]result, len(clients))
		for i := range clients {
			if round == 1 {
				ours = append(ours, commit(i, "sync"))
			}
			wg.Go(func() { results[i] = e.run(clients[i], "sync") })
		}
		wg.Wait()
		for _, res := range results {
			if res.code != 0 {
				t.Fatalf("concurrent syncs: %v", res)
			}
		}
	}
	for _, c := range clients { // the last to push may not have given the others its head
		e.must(c, "sync")
	}
	head := mainHead(t, up)
	for i, c := range clients {
		if got := localRefs(t, c)[objects.BranchPrefix+"main"]; got != head {
			t.Fatalf("after the syncs c%d's main is %s, the server's %s", i, got.Short(), head.Short())
		}
	}
	up.stop(t)
	history := reachable(t, upDir, "main")
	for _, id := range ours {
		if !history[id] {
			t.Errorf("commit %s is not in the server's history", id.Short())
		}
	}
	e.fsckClean(upDir, "server")
	for _, c := range clients {
		e.fsckClean(c, c)
	}
}

// wantClearError checks that a failed folio process said what went wrong
// in a line or two, mentioning one of the words, and did not crash.
func wantClearError(t *testing.T, what string, res result, words ...string) {
	t.Helper()
	msg := strings.TrimSpace(res.stderr)
	if !strings.HasPrefix(msg, "folio: ") || strings.Contains(msg, "goroutine ") || strings.Count(msg, "\n") > 2 {
		t.Fatalf("%s: not a clear error:\n%v", what, res)
	}
	for _, w := range words {
		if strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
			t.Logf("%s: %s", what, msg)
			return
		}
	}
	t.Fatalf("%s: the error mentions none of %q:\n%v", what, words, res)
}

// faultRig is a served upstream repository and a client leader cloned
// through a proxy in front of it, with a fetch and a push to fail.
type faultRig struct {
	t         *testing.T
	e         *e2e
	rng       *rand.Rand
	upDir     string
	up        *folioServer
	clientDir string
	onRestart func(url string) // points the proxy at a restarted server
	fetch     *transfer
	push      *transfer
	batches   int
}

// transfer is an operation a fault interrupts.
type transfer struct {
	args      []string
	prepare   func()                                          // give it something to move
	state     func() map[string]objects.ID                    // the receiver's refs
	unchanged func(what string, before map[string]objects.ID) // after a failure
	expectOK  func(result)                                    // a run that must succeed
	receiver  string                                          // "client" or "server"
}

func newFaultRig(t *testing.T, seed uint64, proxyFor func(target string) string) *faultRig {
	e := newE2E(t)
	root := t.TempDir()
	r := &faultRig{t: t, e: e, rng: rand.New(rand.NewPCG(seed, 9)),
		upDir: filepath.Join(root, "up"), clientDir: filepath.Join(root, "client")}
	e.must(root, "init", r.upDir)
	r.up = e.serve(r.upDir)
	r.upstreamBatch()
	e.must(root, "clone", proxyFor(r.up.url), r.clientDir)

	tracking := objects.RemotePrefix + "origin/main"
	main := objects.BranchPrefix + "main"
	r.fetch = &transfer{args: []string{"fetch"}, receiver: "client",
		prepare: r.upstreamBatch,
		state:   func() map[string]objects.ID { return localRefs(t, r.clientDir) },
		unchanged: func(what string, before map[string]objects.ID) {
			if after := localRefs(t, r.clientDir); !sameRefs(before, after) {
				t.Fatalf("%s: the failed fetch moved the client's refs from %v to %v", what, before, after)
			}
		},
		expectOK: func(res result) {
			if res.code != 0 {
				t.Fatalf("fetch: %v", res)
			}
			if got, want := localRefs(t, r.clientDir)[tracking], mainHead(t, r.up); got != want {
				t.Fatalf("after the fetch %s is %s, the server's main %s", tracking, got.Short(), want.Short())
			}
		}}
	r.push = &transfer{args: []string{"push"}, receiver: "server",
		prepare: r.clientBatch,
		state:   func() map[string]objects.ID { return map[string]objects.ID{main: mainHead(t, r.up)} },
		unchanged: func(what string, before map[string]objects.ID) {
			if got := mainHead(t, r.up); got != before[main] {
				t.Fatalf("%s: the failed push moved the server's main from %s to %s", what, before[main].Short(), got.Short())
			}
		},
		expectOK: func(res result) {
			if res.code != 0 {
				t.Fatalf("push: %v", res)
			}
			if got, want := mainHead(t, r.up), localRefs(t, r.clientDir)[main]; got != want {
				t.Fatalf("after the push the server's main is %s, the client's %s", got.Short(), want.Short())
			}
		}}
	return r
}

func sameRefs(a, b map[string]objects.ID) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func (r *faultRig) run(args ...string) result { return r.e.run(r.clientDir, args...) }

// upstreamBatch writes documents on the server through the document API.
func (r *faultRig) upstreamBatch() {
	r.t.Helper()
	r.batches++
	for k := range 12 {
		key := fmt.Sprintf("up/%d/doc%d.json", r.batches, k)
		content := fmt.Appendf(nil, `{"batch": %d, "pad": %q}`, r.batches, randomText(r.rng, 1500))
		if st, _, err := writeDoc(r.up.url, key, content); err != nil || st != http.StatusCreated {
			r.t.Fatalf("writing %s on the server: %d %v", key, st, err)
		}
	}
}

// clientBatch commits new documents on the client.
func (r *faultRig) clientBatch() {
	r.t.Helper()
	r.batches++
	r.e.must(r.clientDir, "import", writeBatch(r.t, r.rng, 12), "--prefix", fmt.Sprintf("client/%d", r.batches))
	r.e.must(r.clientDir, "commit", "-m", fmt.Sprintf("batch %d", r.batches))
}

// writeBatch writes n documents into a new folder and returns it.
func writeBatch(t *testing.T, rng *rand.Rand, n int) string {
	dir := t.TempDir()
	for k := range n {
		content := fmt.Appendf(nil, `{"k": %d, "pad": %q}`, k, randomText(rng, 1500))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("doc%d.json", k)), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func randomText(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(rng.IntN(26))
	}
	return string(b)
}

// checkReceiver runs fsck on the side that received the failed transfer:
// the client after a fetch; the server, stopped and restarted, after a
// push.
func (r *faultRig) checkReceiver(what string, tr *transfer) {
	r.t.Helper()
	if tr.receiver == "client" {
		r.e.fsckClean(r.clientDir, what+": client")
		return
	}
	r.up.stop(r.t)
	r.e.fsckClean(r.upDir, what+": server")
	r.up = r.e.serve(r.upDir)
	r.onRestart(r.up.url)
}

// finish stops the server and checks both sides once more.
func (r *faultRig) finish() {
	r.t.Helper()
	r.up.stop(r.t)
	r.e.fsckClean(r.upDir, "server")
	r.e.fsckClean(r.clientDir, "client")
}

// cutProxy forwards TCP connections to a server. Armed with a budget of n
// bytes, it forwards n more bytes, both directions and every connection
// counted together (or only the server's bytes), then closes every
// connection, and refuses new ones until disarmed: the network failing in
// the middle of a transfer.
type cutProxy struct {
	ln         net.Listener
	mu         sync.Mutex
	target     string
	budget     int64 // bytes left before the cut; negative: no limit
	serverOnly bool  // only bytes from the server spend the budget
	moved      int64 // bytes forwarded since armed
	fromServer int64 // of which from the server
	cut        bool
	conns      map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, budget: -1, conns: map[net.Conn]bool{}}
	p.setTarget(target)
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.closeAll() })
	return p
}

func (p *cutProxy) url() string { return "http://" + p.ln.Addr().String() + "/" }

func (p *cutProxy) setTarget(serverURL string) {
	u, _ := url.Parse(serverURL)
	p.mu.Lock()
	p.target = u.Host
	p.mu.Unlock()
}

// arm sets the budget (negative: none), spent by every byte or only by
// the server's, and starts counting from zero.
func (p *cutProxy) arm(budget int64, serverOnly bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.budget, p.serverOnly, p.moved, p.fromServer, p.cut = budget, serverOnly, 0, 0, false
}

// disarm lifts the budget and reports whether the cut happened and how
// many bytes were forwarded, in all and from the server.
func (p *cutProxy) disarm() (cut bool, moved, fromServer int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.budget = -1
	cut, moved, fromServer, p.cut = p.cut, p.moved, p.fromServer, false
	return cut, moved, fromServer
}

func (p *cutProxy) accept() {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down, target := p.cut, p.target
		p.mu.Unlock()
		if down {
			conn.Close()
			continue
		}
		server, err := net.Dial("tcp", target)
		if err != nil {
			conn.Close()
			continue
		}
		p.mu.Lock()
		p.conns[conn], p.conns[server] = true, true
		p.mu.Unlock()
		go p.pipe(server, conn, false)
		go p.pipe(conn, server, true)
	}
}

// pipe copies src to dst within the budget; when either side ends, both
// connections close.
func (p *cutProxy) pipe(dst, src net.Conn, fromServer bool) {
	defer func() { dst.Close(); src.Close() }()
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			allowed, cut := p.take(int64(n), fromServer)
			if _, werr := dst.Write(buf[:allowed]); werr != nil {
				return
			}
			if cut {
				p.closeAll()
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// take spends the budget on n bytes: how many may pass, and whether that
// is the cut.
func (p *cutProxy) take(n int64, fromServer bool) (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return 0, true
	}
	if p.budget >= 0 && (fromServer || !p.serverOnly) {
		if n > p.budget {
			n, p.cut = p.budget, true
		}
		p.budget -= n
	}
	p.moved += n
	if fromServer {
		p.fromServer += n
	}
	return n, p.cut
}

func (p *cutProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// tamperProxy is an HTTP proxy in front of a server that can damage the
// pack of the next push (in the request) or fetch (in the reply), leaving
// the HTTP message well formed, and hold the next push until released. It
// reads the message whole to find the pack after the framed control
// message: a test tool, for small transfers.
type tamperProxy struct {
	*httptest.Server
	mu       sync.Mutex
	target   *url.URL
	damage   func([]byte) []byte // for the next pack, then nil
	onPush   bool                // whether damage is for a push, else a fetch
	hit      bool                // damage was applied
	hold     chan struct{}       // the next push waits for it to close
	arrived  chan struct{}       // closed when the held push arrived
	upstream *httputil.ReverseProxy
}

func newTamperProxy(t *testing.T, target string) *tamperProxy {
	p := &tamperProxy{}
	p.setTarget(target)
	p.upstream = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			p.mu.Lock()
			r.SetURL(p.target)
			p.mu.Unlock()
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.Path, "/v1/fetch") {
				return nil
			}
			body, err := p.tamper(false, resp.Body)
			if err != nil {
				return err
			}
			resp.Body, resp.ContentLength, resp.TransferEncoding = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *tamperProxy) setTarget(serverURL string) {
	u, _ := url.Parse(serverURL)
	p.mu.Lock()
	p.target = u
	p.mu.Unlock()
}

// damageNext damages the pack of the next push (push) or fetch.
func (p *tamperProxy) damageNext(push bool, damage func([]byte) []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.damage, p.onPush, p.hit = damage, push, false
}

// damaged reports whether the damage was applied since damageNext.
func (p *tamperProxy) damaged() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hit
}

// holdNextPush makes the next push wait, once it has arrived, until
// release is called.
func (p *tamperProxy) holdNextPush() (arrived <-chan struct{}, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold, p.arrived = make(chan struct{}), make(chan struct{})
	hold := p.hold
	return p.arrived, func() { close(hold) }
}

func (p *tamperProxy) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v1/push") {
		body, err := p.tamper(true, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		r.Body, r.ContentLength, r.TransferEncoding = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
		p.mu.Lock()
		hold, arrived := p.hold, p.arrived
		p.hold, p.arrived = nil, nil
		p.mu.Unlock()
		if hold != nil {
			close(arrived)
			<-hold
		}
	}
	p.upstream.ServeHTTP(w, r)
}

// tamper reads a push or fetch body: a framed control message, then the
// pack, which it damages if damage is set for this direction.
func (p *tamperProxy) tamper(push bool, rd io.Reader) ([]byte, error) {
	body, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	damage := p.damage
	if damage == nil || p.onPush != push {
		p.mu.Unlock()
		return body, nil
	}
	p.damage, p.hit = nil, true
	p.mu.Unlock()
	frame, n := binary.Uvarint(body)
	if n <= 0 || uint64(len(body)-n) < frame {
		return nil, fmt.Errorf("tamper proxy: no framed message in %d bytes", len(body))
	}
	start := n + int(frame)
	pack := damage(bytes.Clone(body[start:]))
	return append(body[:start:start], pack...), nil
}
