package client

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/folio-db/folio/remote/wire"
)

// ErrTimeout: the server did not connect, answer or keep sending in time.
var ErrTimeout = errors.New("client: timed out")

// Timeouts bound how long a client waits for a server. A zero field takes
// its value from DefaultTimeouts.
type Timeouts struct {
	Connect   time.Duration // to open the TCP connection
	Handshake time.Duration // for the TLS handshake
	Reply     time.Duration // from the end of a request to its reply's headers
	// Stall is the longest a transfer may go without moving
	// wire.StallBytes in either direction: a server that stops sending,
	// or trickles, is dropped; one that keeps moving is never cut off.
	Stall time.Duration
}

// DefaultTimeouts suit a server on the same continent.
var DefaultTimeouts = Timeouts{Connect: 10 * time.Second, Handshake: 10 * time.Second, Reply: time.Minute, Stall: time.Minute}

// TimeoutsOf returns the timeouts that one limit d sets (folio's --timeout):
// d to wait for a reply and for a stalled transfer, and at most d to
// connect and shake hands.
func TimeoutsOf(d time.Duration) Timeouts {
	t := DefaultTimeouts
	if d > 0 {
		t = Timeouts{Connect: min(d, t.Connect), Handshake: min(d, t.Handshake), Reply: d, Stall: d}
	}
	return t
}

func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts
	return Timeouts{Connect: cmp.Or(t.Connect, d.Connect), Handshake: cmp.Or(t.Handshake, d.Handshake),
		Reply: cmp.Or(t.Reply, d.Reply), Stall: cmp.Or(t.Stall, d.Stall)}
}

// NewHTTPClient returns an HTTP client that gives up connecting and shaking
// hands after t's limits; tlsConfig may be nil.
func NewHTTPClient(t Timeouts, tlsConfig *tls.Config) *http.Client {
	t = t.withDefaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = t.Handshake
	tr.TLSClientConfig = tlsConfig
	return &http.Client{Transport: tr}
}

// syncReply is how long a server's own sync may take before its reply: it
// talks to its remotes first. The server gives up on it after as long.
const syncReply = 30 * time.Minute

// watchdog cancels a request that waits too long for its reply or stops
// making progress. Every phase arms it anew; moving wire.StallBytes
// re-arms it for a stall.
type watchdog struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel context.CancelCauseFunc
	url    string
	t      Timeouts
	reply  time.Duration
	cause  error // what firing now would mean
	moved  int64 // bytes since the last re-arm
	done   bool
	// stream marks a reply that trickles by design (a continuous change
	// feed, alive by its keep-alive lines): any byte re-arms the stall.
	stream bool
}

func newWatchdog(ctx context.Context, url string, t Timeouts, reply time.Duration) (context.Context, *watchdog) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{cancel: cancel, url: url, t: t, reply: reply}
	w.mu.Lock()
	defer w.mu.Unlock()
	// Until the request is sent, connecting and shaking hands count too.
	w.armLocked(t.Connect+t.Handshake+t.Stall, "could not send the request")
	return ctx, w
}

func (w *watchdog) armLocked(d time.Duration, what string) {
	if w.done {
		return
	}
	w.moved = 0
	w.cause = fmt.Errorf("%w: %s: %s within %s", ErrTimeout, w.url, what, d)
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
	} else {
		w.timer.Reset(d)
	}
}

func (w *watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.cancel(w.cause)
	}
}

// sent: the request is all sent; the reply may take its time.
func (w *watchdog) sent() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armLocked(w.reply, "no reply")
}

// replied: the headers are in; from now on the body must keep moving.
func (w *watchdog) replied() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armLocked(w.t.Stall, "the reply stalled")
}

// progress counts n bytes moved and re-arms after wire.StallBytes.
func (w *watchdog) progress(n int, what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.moved += int64(n)
	if w.moved >= wire.StallBytes || (w.stream && n > 0) {
		w.armLocked(w.t.Stall, what)
	}
}

// stop ends the watch and releases the request's context.
func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	w.timer.Stop()
	w.cancel(context.Canceled)
}
