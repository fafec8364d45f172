package server_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// A client that trickles a request body, a byte now and then, loses the
// connection after the stall timeout on every route that reads a body, and
// changes nothing.
func TestTricklingBodyIsDropped(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	c1 := commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	limits := server.Limits{StallTimeout: 300 * time.Millisecond}
	sync := func(ctx context.Context, r *repo.Repo, writes sync.Locker, req wire.SyncRequest) (any, error) {
		return "synced", nil
	}
	base := serve(t, r, server.Options{Limits: limits, Sync: sync})
	addr := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/")
	for _, route := range []struct{ method, path, contentType string }{
		{"PUT", wire.PathDocs + "/b", "text/plain"},
		{"POST", wire.PathFetch, wire.ContentJSON},
		{"POST", wire.PathPush, wire.ContentFramed},
		{"POST", wire.PathSync, wire.ContentJSON},
		{"POST", wire.PathStoreApply, wire.ContentFramed},
	} {
		t.Run(route.path, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "%s /%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: 100000\r\n\r\n", route.method, route.path, route.contentType)
			// Trickle until the server drops us; a server without a guard
			// keeps taking bytes until the test's own bound.
			give := time.Now().Add(20 * time.Second)
			dropped := make(chan struct{})
			go func() {
				io.Copy(io.Discard, conn) // ends when the server closes
				close(dropped)
			}()
			for {
				select {
				case <-dropped:
					if got := headOf(t, r, mainRef); got != c1 {
						t.Fatalf("a dropped request moved main to %s", got.Short())
					}
					return
				case <-time.After(50 * time.Millisecond):
				}
				if time.Now().After(give) {
					t.Fatalf("%s %s: still connected after 20s of a byte every 50ms", route.method, route.path)
				}
				conn.Write([]byte("{"))
			}
		})
	}
}

// A client that asks for a fetch and never reads the reply loses the
// connection: writes of the reply have a deadline, and the server aborts
// the fetch instead of holding its handler.
func TestFetchNotReadIsDropped(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	docs := map[string]string{}
	for i := range 400 {
		docs[fmt.Sprintf("k%03d", i)] = randomText(16 << 10) // ~6 MB that does not compress, past the socket buffers
	}
	commitDocs(t, r, mainRef, docs, t0)
	logs := &lockedLog{}
	base := serve(t, r, server.Options{Limits: server.Limits{StallTimeout: 300 * time.Millisecond}, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	addr := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	body := `{"prefixes":[],"haves":[]}`
	fmt.Fprintf(conn, "POST /%s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", wire.PathFetch, wire.ContentJSON, len(body), body)
	for give := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if strings.Contains(logs.String(), "fetch cut short") {
			break
		}
		if time.Now().After(give) {
			t.Fatal("the server still writes a fetch nobody reads after 20s")
		}
	}
}

func randomText(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(rand.Text())
	}
	return b.String()
}

// lockedLog collects a server's log lines for a test to look at.
type lockedLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Shutdown lets a request finish within the grace period; past it, it
// cancels the handler's context and returns only once the handler has,
// so the repositories are closed after their last use.
func TestShutdownCancelsHandlersBeforeStoresClose(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	started := make(chan struct{})
	var afterCancel error
	handlerDone := false
	syncFn := func(ctx context.Context, r *repo.Repo, writes sync.Locker, req wire.SyncRequest) (any, error) {
		close(started)
		<-ctx.Done()
		time.Sleep(100 * time.Millisecond) // a handler winding down still reads
		_, afterCancel = r.Store().Refs(context.Background(), "refs/")
		handlerDone = true
		return nil, ctx.Err()
	}
	srv := server.New(server.Options{Repos: server.Single(r), Sync: syncFn})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	go http.Post("http://"+ln.Addr().String()+"/"+wire.PathSync, wire.ContentJSON, strings.NewReader("{}"))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx, hs); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown past its grace: %v", err)
	}
	if !handlerDone {
		t.Fatal("Shutdown returned while a handler still ran")
	}
	if afterCancel != nil {
		t.Fatalf("the handler's store was closed under it: %v", afterCancel)
	}
}

// TestShutdownEndsFeeds: change feeds wait for changes without end, so
// Shutdown ends them at once instead of waiting out its grace period for
// them (a peer's feed held 'folio serve' for the whole minute).
func TestShutdownEndsFeeds(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	srv := server.New(server.Options{Repos: server.Single(r)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	base := "http://" + ln.Addr().String() + "/" + wire.PathChanges + "?since=now&"
	ended := make(chan error, 2)
	for _, feed := range []string{"feed=continuous&heartbeat=1s", "feed=longpoll&timeout=10m"} {
		go func() {
			resp, err := http.Get(base + feed)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			ended <- err
		}()
	}
	time.Sleep(200 * time.Millisecond) // both feeds are waiting in their handlers
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx, hs); err != nil {
		t.Fatalf("Shutdown waited for the feeds: %v", err)
	}
	for range 2 {
		if err := <-ended; err != nil {
			t.Errorf("a feed ended with %v, want a clean end", err)
		}
	}
}
