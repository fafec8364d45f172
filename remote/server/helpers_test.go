package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

const mainRef = objects.BranchPrefix + "main"

// newRepo is a real Badger repository in a temporary folder.
func newRepo(t testing.TB) *repo.Repo {
	t.Helper()
	r, err := repo.Init(context.Background(), t.TempDir(), "", repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// testClock is a clock that moves one second per reading, safe for
// concurrent requests, so commit times are reproducible.
func testClock() func() time.Time {
	var n atomic.Int64
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

// serve runs the server for opts on 127.0.0.1 and returns its base URL
// (with a trailing slash). opts.Repos defaults to r alone.
func serve(t testing.TB, r *repo.Repo, opts server.Options) string {
	t.Helper()
	if opts.Repos == nil {
		opts.Repos = server.Single(r)
	}
	if opts.Now == nil {
		opts.Now = testClock()
	}
	srv := httptest.NewServer(server.New(opts))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// reply is a response read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// errorCode decodes the JSON error of a failed request.
func (r reply) errorCode(t testing.TB) string {
	t.Helper()
	var e wire.Error
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e.Code
}

// call sends one request; headers come as name, value pairs.
func call(t testing.TB, method, url string, body []byte, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1] // the client sends this, not the header
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// expect fails the test unless the reply has the status (and, for an
// error, the JSON code when code is not "").
func expect(t testing.TB, what string, r reply, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d (body %s)", what, r.status, status, r.body)
	}
	if code != "" {
		if got := r.errorCode(t); got != code {
			t.Fatalf("%s: code %q, want %q (body %s)", what, got, code, r.body)
		}
	}
}

// writeResult is the JSON reply to a document write.
type writeResult struct {
	Commit objects.ID  `json:"commit"`
	ID     *objects.ID `json:"id"`
}

func decodeWrite(t testing.TB, r reply) writeResult {
	t.Helper()
	var w writeResult
	if err := json.Unmarshal(r.body, &w); err != nil {
		t.Fatalf("write reply %q: %v", r.body, err)
	}
	return w
}

// commitDocs commits documents to a branch directly through the repository.
func commitDocs(t testing.TB, r *repo.Repo, branchRef string, docs map[string]string, when time.Time) objects.ID {
	t.Helper()
	ctx := context.Background()
	var edits []repo.Edit
	for k, v := range docs {
		e, err := r.WriteDocumentBytes(ctx, []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		edits = append(edits, repo.Edit{Key: k, Entry: e})
	}
	id, err := r.CommitEdits(ctx, branchRef, edits, repo.CommitOptions{Message: "commit", Time: when,
		Author: objects.Signature{Name: "t", Email: "t@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// headOf is a branch's commit, zero when the branch does not exist.
func headOf(t testing.TB, r *repo.Repo, branchRef string) objects.ID {
	t.Helper()
	id, err := r.RefOrZero(context.Background(), branchRef)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// docAt reads a document of a branch through the repository ("" and false
// when absent).
func docAt(t testing.TB, r *repo.Repo, branchRef, key string) (string, bool) {
	t.Helper()
	ctx := context.Background()
	head := headOf(t, r, branchRef)
	if head.IsZero() {
		return "", false
	}
	c, err := r.ReadCommit(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	e, ok, err := r.Tree().Get(ctx, c.Index, key)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return "", false
	}
	data, err := r.ReadDocument(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), true
}

// etagOf is the ETag a document with this content must have: its blob ID.
func etagOf(content string) string {
	return `"` + objects.EncodeBlob([]byte(content)).ID.String() + `"`
}

// logOf lists a branch's commits through GET /v1/log.
func logOf(t testing.TB, base, branch string, n int, headers ...string) []repo.CommitInfo {
	t.Helper()
	url := base + wire.PathLog + "?branch=" + branch
	if n > 0 {
		url += "&n=" + strconv.Itoa(n)
	}
	r := call(t, http.MethodGet, url, nil, headers...)
	expect(t, "log", r, http.StatusOK, "")
	var out []repo.CommitInfo
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// jsonDecode reads a response's JSON body and closes it.
func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
