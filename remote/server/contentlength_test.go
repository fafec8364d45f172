package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// A document PUT whose Content-Length promises more than the body holds
// (the client half-closes after 10 bytes) is refused, and stores nothing:
// the buffer it sized from the header is not taken for the document. One
// that promises more than MaxDocumentSize is refused unread.
func TestPutDocWithLyingContentLength(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	c1 := commitDocs(t, r, mainRef, map[string]string{"a.txt": "a\n"}, t0)
	base := serve(t, r, server.Options{Limits: server.Limits{MaxDocumentSize: 1 << 20}})
	host := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/")
	for _, length := range []int64{60 << 10, 64 << 10, 64<<10 + 1, 1 << 20, 1<<20 + 1, 1 << 62} {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "PUT /%s/lie.txt HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n0123456789", wire.PathDocs, host, length)
		conn.(*net.TCPConn).CloseWrite()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("Content-Length %d over a 10-byte body: status %d", length, resp.StatusCode)
			}
		}
		conn.Close()
	}
	if headOf(t, r, mainRef) != c1 {
		t.Fatal("a body shorter than its Content-Length was committed")
	}
}
