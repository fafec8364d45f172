package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/folio-db/folio/remote/wire"
)

// guard puts a stall guard on a request's body and its reply: a body must
// move wire.StallBytes (or end) within each stall timeout, and each write
// of the reply must go out within one, so a client that stops sending or
// reading, or trickles, loses the connection instead of holding a handler
// and its buffers. Transfers that keep moving go on however long they take
// (up to the request's own timeout).
func guard(w http.ResponseWriter, body io.ReadCloser, stall time.Duration) (http.ResponseWriter, io.ReadCloser) {
	rc := http.NewResponseController(w)
	return &stallWriter{ResponseWriter: w, rc: rc, stall: stall}, &stallBody{ReadCloser: body, rc: rc, stall: stall}
}

type stallWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func (g *stallWriter) Write(p []byte) (int, error) {
	g.rc.SetWriteDeadline(time.Now().Add(g.stall))
	return g.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (g *stallWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

type stallBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	stall time.Duration
	armed bool
	moved int64 // bytes since the deadline was last moved
}

func (b *stallBody) Read(p []byte) (int, error) {
	if !b.armed {
		b.armed = true
		b.rc.SetReadDeadline(time.Now().Add(b.stall))
	}
	n, err := b.ReadCloser.Read(p)
	if b.moved += int64(n); b.moved >= wire.StallBytes {
		b.moved = 0
		b.rc.SetReadDeadline(time.Now().Add(b.stall))
	}
	switch {
	case err == io.EOF:
		// The server reads on in the background to see the client go: a
		// deadline left behind would cancel a handler still working.
		b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("%w: the request body stalled (under %d bytes in %s)", wire.ErrTruncated, wire.StallBytes, b.stall)
	}
	return n, err
}
