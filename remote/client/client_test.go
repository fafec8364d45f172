package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/transfer"
	"github.com/folio-db/folio/remote/wire"
)

// tamper is a transport that changes bytes in flight: in request bodies
// (request) or response bodies (response), by their offset in the body.
type tamper struct {
	request, response func(off int64, p []byte) (n int, cut bool)
}

func (tp tamper) RoundTrip(req *http.Request) (*http.Response, error) {
	if tp.request != nil && req.Body != nil {
		req = req.Clone(req.Context())
		// A request body cut short ends cleanly: the server sees a
		// complete HTTP request holding part of a pack.
		req.Body = &tamperedBody{ReadCloser: req.Body, fn: tp.request, end: io.EOF}
		req.ContentLength = -1
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && tp.response != nil {
		resp.Body = &tamperedBody{ReadCloser: resp.Body, fn: tp.response, end: io.ErrUnexpectedEOF}
	}
	return resp, err
}

type tamperedBody struct {
	io.ReadCloser
	off int64
	fn  func(off int64, p []byte) (int, bool)
	end error // what a cut body returns
}

func (b *tamperedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	keep, cut := b.fn(b.off, p[:n])
	b.off += int64(n)
	if cut {
		return keep, b.end
	}
	return n, err
}

// flipAt flips one bit of the byte at offset at.
func flipAt(at int64) func(int64, []byte) (int, bool) {
	return func(off int64, p []byte) (int, bool) {
		if at >= off && at < off+int64(len(p)) {
			p[at-off] ^= 0x10
		}
		return len(p), false
	}
}

// setAt sets the byte at offset at.
func setAt(at int64, v byte) func(int64, []byte) (int, bool) {
	return func(off int64, p []byte) (int, bool) {
		if at >= off && at < off+int64(len(p)) {
			p[at-off] = v
		}
		return len(p), false
	}
}

// cutAt ends the body after at bytes, as a dropped connection would.
func cutAt(at int64) func(int64, []byte) (int, bool) {
	return func(off int64, p []byte) (int, bool) {
		if off+int64(len(p)) > at {
			return int(max(at-off, 0)), true
		}
		return len(p), false
	}
}

// frameLen is the length of the framed push request that precedes a pack.
func frameLen(t *testing.T, req wire.PushRequest) int64 {
	var buf bytes.Buffer
	if err := wire.WriteFrame(&buf, req); err != nil {
		t.Fatal(err)
	}
	return int64(buf.Len())
}

// Every failure the server reports comes back as the sentinel it hit,
// with the server's message: errors.Is works on remote errors as on local
// ones.
func TestErrorsKeepTheirSentinel(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, server.Options{})
	next := commitOn(t, p.leader, mainRef, map[string]string{"docs/001.json": strings.Repeat("x", 4000)})
	ff := wire.PushRequest{Updates: []wire.RefUpdate{{Name: mainRef, Old: p.base, New: next}}}
	// Refused pushes may leave next's objects on the hub (complete and
	// unreferenced), so the commit that is never sent is another one.
	unsent := commitOn(t, p.leader, objects.BranchPrefix+"unsent", map[string]string{"u": "u"})

	auth := &server.Auth{}
	readTok, _ := auth.AddToken("reader", server.ScopeRead, nil, time.Time{})
	limits := server.DefaultLimits
	limits.MaxObjectSize = 2 << 10
	small := serveRepo(t, p.hub, server.Options{Limits: limits}, client.Options{})
	limits = server.DefaultLimits
	limits.MaxPushBytes = frameLen(t, ff) + 200 // the frame and the start of the pack
	tiny := serveRepo(t, p.hub, server.Options{Limits: limits}, client.Options{})
	withAuth := func(token string) *client.Client {
		return serveRepo(t, p.hub, server.Options{Auth: auth}, client.Options{Token: token})
	}
	via := func(tp tamper) *client.Client {
		return serveRepo(t, p.hub, server.Options{}, client.Options{HTTP: &http.Client{Transport: tp}})
	}
	pushVia := func(c *client.Client) error {
		_, err := push(ctx, c, p.leader, ff, p.base)
		return err
	}
	packAt := frameLen(t, ff)
	onHub := commitOn(t, p.hub, objects.BranchPrefix+"other", map[string]string{"other": "x"})

	for _, tc := range []struct {
		name    string
		call    func() error
		want    error
		message string
	}{
		{"no token", func() error { _, err := withAuth("").Refs(ctx); return err }, wire.ErrUnauthorized, "Authorization: Bearer"},
		{"unknown token", func() error { _, err := withAuth("folio_nope").Refs(ctx); return err }, wire.ErrUnauthorized, "unknown token"},
		{"read token pushing", func() error { return pushVia(withAuth(readTok)) }, wire.ErrForbidden, "read-only"},
		{"stale old value", func() error {
			_, err := push(ctx, p.c, p.leader, wire.PushRequest{Updates: []wire.RefUpdate{{Name: objects.BranchPrefix + "other", Old: p.base, New: next}}, Force: true}, p.base)
			return err
		}, objects.ErrRefChanged, "fetch, merge and push again"},
		{"not a fast-forward", func() error {
			_, err := push(ctx, p.c, p.leader, wire.PushRequest{Updates: []wire.RefUpdate{{Name: objects.BranchPrefix + "other", Old: onHub, New: next}}}, p.base)
			return err
		}, wire.ErrNonFastForward, "would lose commits"},
		{"commit not sent", func() error {
			_, err := pushObjects(ctx, p.c, p.leader, wire.PushRequest{Updates: []wire.RefUpdate{{Name: mainRef, Old: p.base, New: unsent}}})
			return err
		}, objects.ErrNotFound, unsent.Short()},
		{"invalid ref name", func() error {
			_, err := pushObjects(ctx, p.c, p.leader, wire.PushRequest{Updates: []wire.RefUpdate{{Name: "refs/heads/bad..name", New: next}}})
			return err
		}, objects.ErrInvalidRef, "bad..name"},
		{"fetch of remote-tracking refs", func() error {
			return p.c.Fetch(ctx, wire.FetchRequest{Prefixes: []string{"refs/remotes/"}}, wire.Limits{}, nil)
		}, wire.ErrBadRequest, "refs/remotes/"},
		{"sync on a server that does not sync", func() error { _, err := p.c.Sync(ctx, wire.SyncRequest{}); return err }, wire.ErrBadRequest, "does not sync"},
		{"object over the size limit", func() error { return pushVia(small) }, objects.ErrTooLarge, ""},
		{"push over the size limit", func() error { return pushVia(tiny) }, objects.ErrTooLarge, ""},
		{"pack damaged in transit", func() error { return pushVia(via(tamper{request: flipAt(packAt + 40)})) }, objects.ErrCorrupt, ""},
		{"pack of an unknown version", func() error { return pushVia(via(tamper{request: setAt(packAt+7, 9)})) }, objects.ErrUnknownFormat, ""},
		{"pack cut in transit", func() error { return pushVia(via(tamper{request: cutAt(packAt + 60)})) }, wire.ErrTruncated, ""},
		{"frame cut in transit", func() error { return pushVia(via(tamper{request: cutAt(packAt - 5)})) }, wire.ErrTruncated, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := refsOf(t, p.hub)
			err := tc.call()
			if !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			for _, other := range []error{objects.ErrNotFound, objects.ErrRefChanged, objects.ErrCorrupt, objects.ErrTooLarge,
				objects.ErrInvalidRef, wire.ErrNonFastForward, wire.ErrUnauthorized, wire.ErrForbidden, wire.ErrBadRequest, wire.ErrInternal} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("%v also matches %v", err, other)
				}
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("message %q does not carry the server's %q", err, tc.message)
			}
			if !sameRefs(before, refsOf(t, p.hub)) {
				t.Fatal("a failed request moved refs")
			}
		})
	}
	fsck(t, p.hub)
}

// Errors from servers that do not speak folio's JSON still read sensibly:
// 401 and 403 keep their meaning, an unknown code is internal with its
// message kept, anything else carries the server's text.
func TestNonJSONAndUnknownErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		status  int
		body    string
		want    error
		message string
	}{
		{http.StatusUnauthorized, "login first", wire.ErrUnauthorized, "login first"},
		{http.StatusForbidden, "", wire.ErrForbidden, "403 Forbidden"},
		{http.StatusTeapot, `{"code": "teapot", "message": "short and stout"}`, wire.ErrInternal, "short and stout"},
		{http.StatusConflict, `{"code": "ref_changed", "message": "moved"}`, objects.ErrRefChanged, "moved"},
		{http.StatusBadGateway, "<html>bad gateway</html>", nil, "bad gateway"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		c, err := client.New(srv.URL, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Refs(ctx)
		srv.Close()
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("status %d %q: %v, want %v with %q", tc.status, tc.body, err, tc.want, tc.message)
		}
		if tc.want == nil && errors.Is(err, wire.ErrInternal) {
			t.Errorf("status %d: a plain error matched %v", tc.status, wire.ErrInternal)
		}
	}
}

// A fetch whose pack is cut short, by the server aborting or by the
// connection, fails with ErrTruncated and leaves no ref moved.
func TestFetchCutShort(t *testing.T) {
	ctx := context.Background()
	src := newRepo(t)
	var docs = map[string]string{}
	for i := range 400 {
		docs[fmt.Sprintf("d/%03d", i)] = fmt.Sprintf("document %d %s\n", i, strings.Repeat("z", i))
	}
	head := commitOn(t, src, mainRef, docs)
	var pack bytes.Buffer
	pw := wire.NewPackWriter(&pack, wire.WriterOptions{})
	if _, err := transfer.Send(ctx, src.Store(), pw, []objects.ID{head}, nil); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	aborting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", wire.ContentFramed)
		wire.WriteFrame(w, wire.FetchResponse{Head: mainRef, Refs: []objects.Ref{{Name: mainRef, ID: head}}})
		w.Write(pack.Bytes()[:pack.Len()/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	defer aborting.Close()
	real := serveRepo(t, src, server.Options{}, client.Options{})
	cut, err := client.New(real.URL(), client.Options{HTTP: &http.Client{Transport: tamper{response: cutAt(int64(pack.Len() / 3))}}})
	if err != nil {
		t.Fatal(err)
	}
	viaAbort, err := client.New(aborting.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*client.Client{"server aborts": viaAbort, "connection cut": cut} {
		dst := newRepo(t)
		err := c.Fetch(ctx, wire.FetchRequest{}, wire.Limits{}, func(resp *wire.FetchResponse, pr *wire.PackReader) error {
			if len(resp.Refs) != 1 || resp.Refs[0].ID != head {
				t.Errorf("%s: refs %+v", name, resp.Refs)
			}
			_, err := transfer.Receive(ctx, dst.Store(), pr)
			return err
		})
		if !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("%s: %v, want truncated", name, err)
		}
		if ok, _ := dst.Store().Has(ctx, head); ok {
			t.Errorf("%s: the commit was stored from a cut pack", name)
		}
	}
}

// The client counts its requests and the bytes it moved, and reports
// every byte to OnBytes; a fetch is one request.
func TestStatsCountEveryByte(t *testing.T) {
	ctx := context.Background()
	src := newRepo(t)
	head := commitOn(t, src, mainRef, map[string]string{"a.json": `{"a": 1}`, "b.txt": strings.Repeat("b", 10000)})
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.New(server.Options{Repos: server.Single(src)}).ServeHTTP(countingWriter{w, &served}, r)
	}))
	defer srv.Close()
	var reported atomic.Int64
	c, err := client.New(srv.URL+"/", client.Options{OnBytes: func(n int64) { reported.Add(n) }})
	if err != nil {
		t.Fatal(err)
	}
	if c.URL() != srv.URL+"/" {
		t.Errorf("URL() = %s", c.URL())
	}
	refs, err := c.Refs(ctx)
	if err != nil || refs.Head != mainRef || len(refs.Refs) != 1 || refs.Refs[0].ID != head {
		t.Fatalf("refs: %+v, %v", refs, err)
	}
	dst := newRepo(t)
	if st := c.Stats(); st.Requests.Load() != 1 || st.BytesSent.Load() != 0 {
		t.Fatalf("after a refs listing: %d requests, %d bytes sent", st.Requests.Load(), st.BytesSent.Load())
	}
	fetchAll(t, c, dst)
	st := c.Stats()
	want, _ := json.Marshal(wire.FetchRequest{})
	if st.Requests.Load() != 2 || st.BytesReceived.Load() != served.Load() || st.BytesSent.Load() < int64(len(want)) {
		t.Errorf("stats: %d requests, %d bytes received (server sent %d), %d sent",
			st.Requests.Load(), st.BytesReceived.Load(), served.Load(), st.BytesSent.Load())
	}
	if reported.Load() != st.BytesReceived.Load()+st.BytesSent.Load() {
		t.Errorf("OnBytes saw %d bytes, the counters %d", reported.Load(), st.BytesReceived.Load()+st.BytesSent.Load())
	}
	if refOf(t, dst, mainRef) != head {
		t.Fatal("fetch did not bring main")
	}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

// Only http and https URLs make clients.
func TestNewChecksURL(t *testing.T) {
	for _, bad := range []string{"ftp://host/repo", "host:8080", "://nothing", "file:///tmp/x"} {
		if _, err := client.New(bad, client.Options{}); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	c, err := client.New("https://example.com/repos/a", client.Options{})
	if err != nil || c.URL() != "https://example.com/repos/a/" {
		t.Errorf("New: %v, URL %s", err, c.URL())
	}
}

// A token goes only over https or to this machine, never in plain text to
// another host.
func TestTokenOnlyOverHTTPSOrLoopback(t *testing.T) {
	t.Parallel()
	for url, ok := range map[string]bool{
		"http://example.com/a":   false,
		"http://10.0.0.7:7420/":  false,
		"http://127.0.0.1:7420/": true,
		"http://localhost:7420/": true,
		"http://[::1]:7420/":     true,
		"https://example.com/a":  true,
		"HTTP://example.com/a":   false,
	} {
		_, err := client.New(url, client.Options{Token: "folio_secret"})
		if ok != (err == nil) || (err != nil && !errors.Is(err, client.ErrPlainTextToken)) {
			t.Errorf("%s with a token: %v, want ok=%v", url, err, ok)
		}
		if _, err := client.New(url, client.Options{}); err != nil {
			t.Errorf("%s without a token: %v", url, err)
		}
	}
}

// A push whose control frame alone is over MaxPushBytes is refused as too
// large (413), like one whose pack is.
func TestPushFrameOverLimit(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, server.Options{})
	next := commitOn(t, p.leader, mainRef, map[string]string{"x": "x"})
	limits := server.DefaultLimits
	limits.MaxPushBytes = 20
	c := serveRepo(t, p.hub, server.Options{Limits: limits}, client.Options{})
	_, err := push(ctx, c, p.leader, wire.PushRequest{Updates: []wire.RefUpdate{{Name: mainRef, Old: p.base, New: next}}}, p.base)
	if !errors.Is(err, objects.ErrTooLarge) {
		t.Fatalf("push with a frame over the limit: %v, want too large", err)
	}
}
