package client

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// Client talks to one repository on a folio server.
type Client struct {
	base     *url.URL
	token    string
	http     *http.Client
	timeouts Timeouts
	stats    Stats
	onBytes  func(int64)
	// noReply, when set, words a request the server did not answer at
	// all (the served store's server stopped); else the request is named.
	noReply string
}

// Stats counts what a client moved.
type Stats struct {
	Requests      atomic.Int64
	BytesSent     atomic.Int64
	BytesReceived atomic.Int64
}

// Options configure a client.
type Options struct {
	// Token is sent as a bearer token when set.
	Token string
	// HTTP replaces http.DefaultClient (tests, TLS settings).
	HTTP *http.Client
	// OnBytes, when set, is told of every chunk of bytes sent or
	// received, for progress displays.
	OnBytes func(n int64)
	// Timeouts bound the waits for the server (zero: DefaultTimeouts).
	// Connect and Handshake apply when HTTP is nil; give a client made by
	// NewHTTPClient to keep them with other settings.
	Timeouts Timeouts
}

// New returns a client for the repository at rawURL (http or https).
func New(rawURL string, opts Options) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("remote URL %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("remote URL %q: want http:// or https://", rawURL)
	}
	if opts.Token != "" && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%w to %s: use https://, or a loopback address", ErrPlainTextToken, rawURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	c := &Client{base: u, token: opts.Token, http: opts.HTTP, timeouts: opts.Timeouts.withDefaults(), onBytes: opts.OnBytes}
	if c.http == nil {
		c.http = NewHTTPClient(c.timeouts, nil)
	}
	return c, nil
}

// ErrPlainTextToken: a token would travel unencrypted to another host.
var ErrPlainTextToken = errors.New("client: refusing to send a token over plain http")

// isLoopback reports a host that never leaves this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Stats returns the counters of everything this client did.
func (c *Client) Stats() *Stats { return &c.stats }

// URL is the repository's URL.
func (c *Client) URL() string { return c.base.String() }

// endpoint is the URL of path (which may end in a ?query) in the repository.
func (c *Client) endpoint(path string) string {
	ref := &url.URL{Path: path}
	if p, query, ok := strings.Cut(path, "?"); ok {
		ref = &url.URL{Path: p, RawQuery: query}
	}
	return c.base.ResolveReference(ref).String()
}

// do sends a request and checks the status; a failed request's JSON error
// becomes the matching sentinel error. A watchdog bounds every wait: for the
// reply (reply long), and for each stretch of the transfer without progress.
func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	return c.doWaiting(ctx, c.timeouts.Reply, method, path, contentType, body)
}

// doStream is do for a reply that trickles by design (a continuous change
// feed): it stays alive as long as some byte arrives every stall timeout.
func (c *Client) doStream(ctx context.Context, path string) (*http.Response, error) {
	return c.request(ctx, c.timeouts.Reply, true, http.MethodGet, path, "", nil)
}

func (c *Client) doWaiting(ctx context.Context, reply time.Duration, method, path, contentType string, body io.Reader) (*http.Response, error) {
	return c.request(ctx, reply, false, method, path, contentType, body)
}

func (c *Client) request(ctx context.Context, reply time.Duration, stream bool, method, path, contentType string, body io.Reader) (*http.Response, error) {
	ctx, dog := newWatchdog(ctx, c.URL(), c.timeouts, reply)
	dog.stream = stream
	var reqBody io.Reader
	if body == nil {
		dog.sent()
	} else {
		reqBody = &watched{r: c.counting(body, &c.stats.BytesSent), dog: dog, ctx: ctx, what: "the request stalled", atEOF: dog.sent}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path), reqBody)
	if err != nil {
		dog.stop()
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if b, ok := body.(jsonBody); ok {
		req.Header.Set(wire.ChecksumHeader, b.checksum)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	c.stats.Requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		dog.stop()
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // it repeats the method and URL
		}
		if cause := context.Cause(ctx); errors.Is(cause, ErrTimeout) {
			return nil, cause
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("the connection closed before a reply (run it again): %w", err)
		}
		if c.noReply != "" {
			return nil, fmt.Errorf("%s: %w", c.noReply, err)
		}
		return nil, fmt.Errorf("%s %s: %w", method, c.endpoint(path), err)
	}
	dog.replied()
	resp.Body = &watchedBody{watched{r: c.counting(resp.Body, &c.stats.BytesReceived), dog: dog, ctx: ctx, what: "the reply stalled"}, resp.Body}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, responseError(resp, c.URL())
	}
	return resp, nil
}

// watched reports a body's progress to the request's watchdog, and turns
// the cancellation the watchdog caused into its timeout error.
type watched struct {
	r     io.Reader
	dog   *watchdog
	ctx   context.Context
	what  string
	atEOF func()
}

func (w *watched) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.dog.progress(n, w.what)
	if err == io.EOF && w.atEOF != nil {
		w.atEOF()
	}
	if err != nil && err != io.EOF {
		if cause := context.Cause(w.ctx); errors.Is(cause, ErrTimeout) {
			err = cause
		}
	}
	return n, err
}

// watchedBody is a reply's body: closing it ends the watch.
type watchedBody struct {
	watched
	c io.Closer
}

func (w *watchedBody) Close() error {
	w.dog.stop()
	return w.c.Close()
}

// ErrNotFolio: the reply did not come from a folio server (a web server,
// a proxy's error page, a wrong URL).
var ErrNotFolio = errors.New("client: not a folio server")

// maxBodyLine bounds how much of a foreign error page an error quotes.
const maxBodyLine = 200

// responseError turns an error response into an error. A reply that is not
// folio's JSON error is quoted by its status and at most one line.
func responseError(resp *http.Response, url string) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e wire.Error
	if json.Unmarshal(data, &e) == nil && e.Code != "" {
		return wire.CodeError(e.Code, e.Message)
	}
	msg := firstLine(string(data))
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return wire.CodeError("unauthorized", cmp.Or(msg, resp.Status))
	case http.StatusForbidden:
		return wire.CodeError("forbidden", cmp.Or(msg, resp.Status))
	}
	if msg != "" {
		msg = ": " + msg
	}
	return fmt.Errorf("%s: %w (HTTP %s%s)", url, ErrNotFolio, resp.Status, msg)
}

// firstLine is the first non-empty line of s, cut to maxBodyLine bytes
// and to valid UTF-8, without control characters.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			s = line
			break
		}
	}
	s = strings.TrimSpace(s)
	if len(s) > maxBodyLine {
		s = s[:maxBodyLine] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

func (c *Client) counting(r io.Reader, n *atomic.Int64) io.Reader {
	if r == nil {
		return nil
	}
	return &counter{r: r, n: n, onBytes: c.onBytes}
}

type counter struct {
	r       io.Reader
	n       *atomic.Int64
	onBytes func(int64)
}

func (c *counter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n.Add(int64(k))
	if c.onBytes != nil && k > 0 {
		c.onBytes(int64(k))
	}
	return k, err
}

// getJSON and postJSON exchange JSON messages.
func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	resp, err := c.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeJSON(resp, out)
}

func (c *Client) postJSON(ctx context.Context, reply time.Duration, path string, in, out any) error {
	body, err := newJSONBody(in)
	if err != nil {
		return err
	}
	resp, err := c.doWaiting(ctx, reply, http.MethodPost, path, wire.ContentJSON, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeJSON(resp, out)
}

// jsonBody is a JSON request body sent with its checksum.
type jsonBody struct {
	*bytes.Reader
	checksum string
}

func newJSONBody(v any) (jsonBody, error) {
	data, err := json.Marshal(v)
	return jsonBody{bytes.NewReader(data), wire.Checksum(data)}, err
}

// decodeJSON reads a JSON reply after checking it against its checksum.
func decodeJSON(resp *http.Response, out any) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, wire.MaxFrame+1))
	switch {
	case err != nil:
		return fmt.Errorf("server reply: %w", err)
	case len(data) > wire.MaxFrame:
		return fmt.Errorf("server reply: %w: over %d bytes", objects.ErrTooLarge, wire.MaxFrame)
	}
	if err := wire.CheckBody(data, resp.Header.Get(wire.ChecksumHeader)); err != nil {
		return fmt.Errorf("server reply: %w", err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("server reply: %w: %v", objects.ErrCorrupt, err)
	}
	return nil
}

// Refs lists the repository's branches and tags.
func (c *Client) Refs(ctx context.Context) (*wire.RefsResponse, error) {
	var out wire.RefsResponse
	if err := c.getJSON(ctx, wire.PathRefs, &out); err != nil {
		return nil, err
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("the server's refs: %w", err)
	}
	return &out, nil
}

// Held returns those of ids the server holds (wire.PathHas), in the
// order asked: at most wire.MaxObjectsRequest are asked about.
func (c *Client) Held(ctx context.Context, ids []objects.ID) ([]objects.ID, error) {
	ids = ids[:min(len(ids), wire.MaxObjectsRequest)]
	var out wire.StoreHas
	if err := c.postJSON(ctx, c.timeouts.Reply, wire.PathHas, wire.StoreIDs{IDs: ids}, &out); err != nil {
		return nil, err
	}
	if len(out.Has) != len(ids) {
		return nil, fmt.Errorf("server reply: %w: %d answers to %d questions", objects.ErrCorrupt, len(out.Has), len(ids))
	}
	var held []objects.ID
	for i, has := range out.Has {
		if has {
			held = append(held, ids[i])
		}
	}
	return held, nil
}

// Token asks what the server makes of the client's token.
func (c *Client) Token(ctx context.Context) (*wire.TokenInfo, error) {
	var out wire.TokenInfo
	if err := c.getJSON(ctx, wire.PathToken, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Fetch asks for the refs under the request's prefixes and the objects the
// client lacks. receive gets the refs and a reader of the pack; the fetch
// succeeds only if receive read the whole pack (io.EOF from Next).
func (c *Client) Fetch(ctx context.Context, req wire.FetchRequest, limits wire.Limits,
	receive func(*wire.FetchResponse, *wire.PackReader) error) error {
	return c.postForPack(ctx, wire.PathFetch, req, func(body *bufio.Reader) error {
		var head wire.FetchResponse
		if err := wire.ReadFrame(body, &head); err != nil {
			return err
		}
		if err := head.Validate(); err != nil {
			return fmt.Errorf("the server's refs: %w", err)
		}
		return receive(&head, wire.NewPackReader(body, limits))
	})
}

// Objects asks for objects by ID (a repair); receive reads the pack of
// those the server holds intact. The request succeeds only if receive read
// the whole pack (io.EOF from Next).
func (c *Client) Objects(ctx context.Context, req wire.ObjectsRequest, limits wire.Limits, receive func(*wire.PackReader) error) error {
	return c.postForPack(ctx, wire.PathObjects, req, func(body *bufio.Reader) error {
		return receive(wire.NewPackReader(body, limits))
	})
}

// postForPack posts a JSON request and hands the streamed reply to read.
func (c *Client) postForPack(ctx context.Context, path string, req any, read func(*bufio.Reader) error) error {
	body, err := newJSONBody(req)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodPost, path, wire.ContentJSON, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return read(bufio.NewReaderSize(resp.Body, 64<<10))
}

// Push sends a push request and a pack written by send, streaming: the pack
// is never held in memory.
func (c *Client) Push(ctx context.Context, req wire.PushRequest, send func(*wire.PackWriter) error) (*wire.PushResponse, error) {
	pr, pw := io.Pipe()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		err := wire.WriteFrame(pw, req)
		if err == nil {
			packw := wire.NewPackWriter(pw, wire.WriterOptions{})
			if err = send(packw); err == nil {
				err = packw.Close()
			}
		}
		pw.CloseWithError(err)
	}()
	resp, err := c.do(ctx, http.MethodPost, wire.PathPush, wire.ContentFramed, pr)
	// A reply may come before send is done (a refusal, a cut): closed, the
	// pipe fails send's next write, and Push returns once send has, so
	// what send records is the caller's to read.
	pr.Close()
	<-sent
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out wire.PushResponse
	if err := decodeJSON(resp, &out); err != nil {
		return nil, fmt.Errorf("the push may have been applied but its reply was cut short (fetch to see): %w", err)
	}
	return &out, nil
}

// Sync asks the server to sync its repository with its remotes; the
// report is whatever the server returns, as raw JSON.
func (c *Client) Sync(ctx context.Context, req wire.SyncRequest) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.postJSON(ctx, max(syncReply, c.timeouts.Reply), wire.PathSync, req, &out)
	return out, err
}

// IsAuthError reports an error that a token would fix.
func IsAuthError(err error) bool {
	return errors.Is(err, wire.ErrUnauthorized) || errors.Is(err, wire.ErrForbidden)
}
