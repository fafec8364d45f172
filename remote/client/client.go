package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/folio-db/folio/remote/wire"
)

// Client talks to one repository on a folio server.
type Client struct {
	base    *url.URL
	token   string
	http    *http.Client
	stats   Stats
	onBytes func(int64)
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
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	c := &Client{base: u, token: opts.Token, http: opts.HTTP, onBytes: opts.OnBytes}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	return c, nil
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
// becomes the matching sentinel error.
func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path), c.counting(body, &c.stats.BytesSent))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	c.stats.Requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // it repeats the method and URL
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("the connection closed before a reply (run it again): %w", err)
		}
		return nil, fmt.Errorf("%s %s: %w", method, c.endpoint(path), err)
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{c.counting(resp.Body, &c.stats.BytesReceived), resp.Body}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, responseError(resp)
	}
	return resp, nil
}

// responseError turns an error response into an error.
func responseError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e wire.Error
	if json.Unmarshal(data, &e) == nil && e.Code != "" {
		return wire.CodeError(e.Code, e.Message)
	}
	msg := strings.TrimSpace(string(data))
	if msg == "" {
		msg = resp.Status
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return wire.CodeError("unauthorized", msg)
	case http.StatusForbidden:
		return wire.CodeError("forbidden", msg)
	}
	return fmt.Errorf("server: %s", msg)
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
	return decodeJSON(resp.Body, out)
}

func (c *Client) postJSON(ctx context.Context, path string, in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodPost, path, wire.ContentJSON, bytes.NewReader(data))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeJSON(resp.Body, out)
}

func decodeJSON(r io.Reader, out any) error {
	if err := json.NewDecoder(io.LimitReader(r, wire.MaxFrame)).Decode(out); err != nil {
		return fmt.Errorf("server reply: %w", err)
	}
	return nil
}

// Refs lists the repository's branches and tags.
func (c *Client) Refs(ctx context.Context) (*wire.RefsResponse, error) {
	var out wire.RefsResponse
	return &out, c.getJSON(ctx, wire.PathRefs, &out)
}

// Fetch asks for the refs under the request's prefixes and the objects the
// client lacks. receive gets the refs and a reader of the pack; the fetch
// succeeds only if receive read the whole pack (io.EOF from Next).
func (c *Client) Fetch(ctx context.Context, req wire.FetchRequest, limits wire.Limits,
	receive func(*wire.FetchResponse, *wire.PackReader) error) error {
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodPost, wire.PathFetch, wire.ContentJSON, bytes.NewReader(data))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body := bufio.NewReaderSize(resp.Body, 64<<10)
	var head wire.FetchResponse
	if err := wire.ReadFrame(body, &head); err != nil {
		return err
	}
	return receive(&head, wire.NewPackReader(body, limits))
}

// Push sends a push request and a pack written by send, streaming: the pack
// is never held in memory.
func (c *Client) Push(ctx context.Context, req wire.PushRequest, send func(*wire.PackWriter) error) (*wire.PushResponse, error) {
	pr, pw := io.Pipe()
	go func() {
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
	pr.Close()
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out wire.PushResponse
	if err := decodeJSON(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("the push may have been applied but its reply was cut short (fetch to see): %w", err)
	}
	return &out, nil
}

// Sync asks the server to sync its repository with its remotes; the
// report is whatever the server returns, as raw JSON.
func (c *Client) Sync(ctx context.Context, req wire.SyncRequest) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.postJSON(ctx, wire.PathSync, req, &out)
	return out, err
}

// IsAuthError reports an error that a token would fix.
func IsAuthError(err error) bool {
	return errors.Is(err, wire.ErrUnauthorized) || errors.Is(err, wire.ErrForbidden)
}
