package remote_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// countingServer is a real server on 127.0.0.1 that counts the requests
// it answers, by path, and the bytes it sends.
type countingServer struct {
	mu    sync.Mutex
	paths map[string]int
	sent  int64
}

func (c *countingServer) ServeHTTP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		h.ServeHTTP(cw, req)
		c.mu.Lock()
		defer c.mu.Unlock()
		path, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"+wire.PathStoreObject+"/"), "?")
		if path != req.URL.Path {
			path = "/" + wire.PathStoreObject + "/ID"
		}
		c.paths[req.Method+" "+path]++
		c.sent += cw.n
	})
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *countingServer) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paths, c.sent = map[string]int{}, 0
}

// requests is the number of requests since the last reset, and a summary
// by path.
func (c *countingServer) requests() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	var by []string
	for p, k := range c.paths {
		n += k
		by = append(by, fmt.Sprintf("%s: %d", p, k))
	}
	sort.Strings(by)
	return n, strings.Join(by, ", ")
}

func (c *countingServer) bytesSent() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

// servedCLI serves a real repository on 127.0.0.1, counting the requests
// its server answers, and opens it as the CLI of a served repository
// does: on the server's store API (client.Store).
func servedCLI(t *testing.T) (cli, served *repo.Repo, counts *countingServer) {
	t.Helper()
	served = newRepo(t)
	counts = &countingServer{paths: map[string]int{}}
	srv := httptest.NewServer(counts.ServeHTTP(server.New(server.Options{Repos: server.Single(served)})))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cli, err = repo.Open(context.Background(), served.Dir(), repo.Options{Store: client.NewStore(c)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli, served, counts
}

// A fetch into a served repository asks its server about the objects
// that arrived, and those they name, in batches (transfer.BatchReader),
// not one request per object: 150 commits (553 objects) into an empty
// served repository, then 150 more (600 objects) on top, each cost at most
// maxRequests requests to its server. (Before: 409 and 611, a Has or a
// Get per object.) What stays: the refs listings (5), the apply (1), and
// reads of the few stored objects the checks open (the parent commit,
// the stored nodes next to new ones).
func TestFetchIntoServedRepoRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub := newRepo(t)
	const commits, maxRequests = 150, 15
	for i := range commits {
		write(t, hub, map[string]string{fmt.Sprintf("doc%03d.json", i): fmt.Sprintf(`{"n": %d}`, i)})
	}
	cli, served, counts := servedCLI(t)
	if err := remote.Add(cli.Files, "origin", serve(t, hub, nil)); err != nil {
		t.Fatal(err)
	}
	origin, err := remote.Lookup(cli.Files, "origin")
	if err != nil {
		t.Fatal(err)
	}
	counts.reset()
	rep, err := remote.Fetch(ctx, cli, origin, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, by := counts.requests()
	t.Logf("fetch of %d objects: %d requests to the served repository (%s)", rep.ObjectsReceived, n, by)
	if rep.ObjectsReceived < 2*commits {
		t.Fatalf("the fetch brought %d objects, want at least %d", rep.ObjectsReceived, 2*commits)
	}
	if n > maxRequests {
		t.Errorf("a fetch of %d objects into a served repository made %d requests to its server, want at most %d (%s)", rep.ObjectsReceived, n, maxRequests, by)
	}
	if got := head(t, served); got != head(t, hub) {
		t.Errorf("the served repository's main is %s, want the hub's %s", got.Short(), head(t, hub).Short())
	}

	// More commits on the hub, on top of what the served repository has.
	for i := range commits {
		write(t, hub, map[string]string{fmt.Sprintf("doc%03d.json", i): fmt.Sprintf(`{"n": %d, "again": true}`, i)})
	}
	counts.reset()
	if rep, err = remote.Fetch(ctx, cli, origin, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	n, by = counts.requests()
	t.Logf("second fetch of %d objects: %d requests to the served repository (%s)", rep.ObjectsReceived, n, by)
	if n > maxRequests {
		t.Errorf("a fetch of %d objects into a served repository made %d requests to its server, want at most %d (%s)", rep.ObjectsReceived, n, maxRequests, by)
	}
}

// A push from a served repository to an empty remote has its server make
// the pack (transfer.PackSender): the CLI makes a bounded number of
// requests to it, not a read per object, and it sends about the bytes of
// the pack, not its whole store (here 1 MiB of it is an object no commit
// reaches). Before: the store-order walk streamed the whole store and
// every commit and node was one more request.
func TestPushFromServedRepoRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cli, served, counts := servedCLI(t)
	const commits, maxRequests = 100, 10
	for i := range commits {
		write(t, served, map[string]string{fmt.Sprintf("doc%03d.json", i): fmt.Sprintf(`{"n": %d}`, i)})
	}
	unreachable := objects.EncodeBlob(randomBytes(1 << 20))
	if err := served.Store().Put(ctx, unreachable); err != nil {
		t.Fatal(err)
	}
	empty := newRepo(t)
	if err := remote.Add(cli.Files, "origin", serve(t, empty, nil)); err != nil {
		t.Fatal(err)
	}
	origin, err := remote.Lookup(cli.Files, "origin")
	if err != nil {
		t.Fatal(err)
	}
	counts.reset()
	rep, err := remote.Push(ctx, cli, origin, []string{main}, remote.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, by := counts.requests()
	sent := counts.bytesSent()
	t.Logf("push of %d objects (%d bytes to the remote): %d requests to the served repository, %d bytes from it (%s)",
		rep.ObjectsSent, rep.BytesSent, n, sent, by)
	if head(t, empty) != head(t, served) {
		t.Fatalf("the remote's main is %s, want %s", head(t, empty).Short(), head(t, served).Short())
	}
	if n > maxRequests {
		t.Errorf("a push of %d objects from a served repository made %d requests to its server, want at most %d (%s)", rep.ObjectsSent, n, maxRequests, by)
	}
	if sent > 2*rep.BytesSent+16<<10 {
		t.Errorf("a push of %d bytes from a served repository read %d bytes from its server, want at most about twice the push", rep.BytesSent, sent)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
