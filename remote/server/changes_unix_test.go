//go:build unix

package server_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// lockedBuffer collects a server's log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestChangesSlowConsumer: a continuous reader that stops reading holds
// up no writer (each commit here makes a 400 KB line it never reads, 5.6 MB in all,
// more than the socket buffers take), and
// the feed cuts it off after a few heartbeats instead of keeping its
// handler until the server's stall guard or the request's end.
func TestChangesSlowConsumer(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	ctx := context.Background()
	var log lockedBuffer
	// The server's own stall guard (StallTimeout) is left far off: the
	// feed cuts a stalled reader after a few heartbeats by itself.
	base := serve(t, r, server.Options{Logger: slog.New(slog.NewTextHandler(&log, nil)),
		Limits: server.Limits{StallTimeout: 24 * time.Hour}})
	u, _ := url.Parse(base)
	// A receive buffer set before connecting stays small.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /%s?feed=continuous&since=0&heartbeat=10ms HTTP/1.1\r\nHost: %s\r\n\r\n", wire.PathChanges, u.Host)

	long := strings.Repeat("k", 400)
	for i := range 14 {
		e, err := r.WriteDocumentBytes(ctx, []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		edits := make([]repo.Edit, 1000)
		for j := range edits {
			edits[j] = repo.Edit{Key: fmt.Sprintf("%s%04d", long, j), Entry: e}
		}
		if _, err := r.CommitEdits(ctx, mainRef, edits, repo.CommitOptions{Message: "big", Time: t0}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Every writer finished; a reader that reads still gets everything.
	got := call(t, http.MethodGet, base+wire.PathChanges+"?since=13", nil)
	if d := changeLines(t, got.body); len(d) != 1 || d[0].Seq != 14 || len(d[0].Keys) != 1000 {
		t.Fatalf("after the writes: %d changes", len(d))
	}
	// The stalled stream's handler ends (the log line is written when it
	// returns); the test's own deadline bounds this wait.
	for strings.Count(log.String(), "path=/"+wire.PathChanges+" ") < 2 {
		time.Sleep(10 * time.Millisecond)
	}
}
