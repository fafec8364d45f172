package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// changeLines decodes a feed answer, one change per line.
func changeLines(t testing.TB, body []byte) []objects.Change {
	t.Helper()
	var out []objects.Change
	for line := range bytes.Lines(body) {
		var c objects.Change
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatalf("feed line %q: %v", line, err)
		}
		out = append(out, c)
	}
	return out
}

// describe lists changes as "seq branch keys".
func describe(cs []objects.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%d %s %s", c.Seq, c.Branch, strings.Join(c.Keys, ",")))
	}
	return out
}

func putDoc(t testing.TB, base, key, body string) {
	t.Helper()
	expect(t, "put "+key, call(t, http.MethodPut, base+wire.PathDocs+"/"+key, []byte(body), "X-Folio-Author", "Ada <ada@example.com>"),
		http.StatusCreated, "")
}

func feed(t testing.TB, base, query string, want ...string) reply {
	t.Helper()
	got := call(t, http.MethodGet, base+wire.PathChanges+"?"+query, nil)
	expect(t, "changes?"+query, got, http.StatusOK, "")
	if d := describe(changeLines(t, got.body)); !slices.Equal(d, want) {
		t.Fatalf("changes?%s = %q, want %q", query, d, want)
	}
	return got
}

// TestChangesFeed: every write through the API is a numbered change with
// its keys and author; since, branch, prefix and since=now select, and
// Folio-Seq says where to go on from.
func TestChangesFeed(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	base := serve(t, r, server.Options{})
	putDoc(t, base, "users/1", `{"n":1}`)
	putDoc(t, base, "orders/1", `{"n":2}`)
	putDoc(t, base, "users/2", `{"n":3}`)

	got := feed(t, base, "since=0", "1 main users/1", "2 main orders/1", "3 main users/2")
	if h := got.header.Get(wire.HeaderSeq); h != "3" {
		t.Errorf("Folio-Seq = %q, want 3", h)
	}
	if ct := got.header.Get("Content-Type"); ct != wire.ContentJSONLines {
		t.Errorf("Content-Type = %q", ct)
	}
	c := changeLines(t, got.body)[1]
	if c.Author == nil || c.Author.Name != "Ada" || c.Old == nil || c.New == nil || *c.New != headOfNth(t, r, 1) {
		t.Errorf("change 2 = %+v", c)
	}
	feed(t, base, "since=1&prefix=users/", "3 main users/2")
	feed(t, base, "branch=main&since=2", "3 main users/2")
	feed(t, base, "branch=dev")
	if h := feed(t, base, "since=now").header.Get(wire.HeaderSeq); h != "3" {
		t.Errorf("since=now: Folio-Seq = %q, want 3", h)
	}
}

// headOfNth is main's commit n commits back from its head.
func headOfNth(t testing.TB, r *repo.Repo, back int) objects.ID {
	t.Helper()
	id := headOf(t, r, mainRef)
	for range back {
		c, err := r.ReadCommit(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		id = c.Parents[0]
	}
	return id
}

// TestChangesMultiRepository: /NAME/v1/changes is that repository's feed.
func TestChangesMultiRepository(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	makeRepos(t, dir, "a", "b")
	base := serve(t, nil, server.Options{Repos: rootOf(t, dir)})
	putDoc(t, base+"a/", "x", "1")
	feed(t, base+"a/", "since=1", "2 main x")
	feed(t, base+"b/", "since=1")
}

// TestChangesBadRequests: what the server cannot use is a 400 that says
// what it wants.
func TestChangesBadRequests(t *testing.T) {
	t.Parallel()
	base := serve(t, newRepo(t), server.Options{})
	for query, want := range map[string]string{
		"since=abc":                  `since="abc": want a sequence number`,
		"since=-1":                   `since="-1"`,
		"since=1.5":                  `since="1.5"`,
		"feed=forever":               `feed="forever": want normal, longpoll, continuous or eventsource`,
		"feed=longpoll&timeout=soon": `timeout="soon"`,
		"heartbeat=-1s":              `heartbeat="-1s"`,
		"limit=0":                    `limit="0"`,
		"branch=a..b":                `branch="a..b" is not a valid branch name`,
	} {
		got := call(t, http.MethodGet, base+wire.PathChanges+"?"+query, nil)
		expect(t, query, got, http.StatusBadRequest, "")
		var e wire.Error
		json.Unmarshal(got.body, &e)
		if !strings.Contains(e.Message, want) || strings.Contains(e.Message, "objects:") {
			t.Errorf("%s: message %q, want it to say %q in plain words", query, e.Message, want)
		}
	}
}

// openWithFeedKeep opens a repository whose feed keeps only keep moves.
func openWithFeedKeep(t testing.TB, dir string, keep int) *repo.Repo {
	t.Helper()
	store, err := badgerstore.Open(filepath.Join(dir, "db"), badgerstore.Options{FeedKeep: keep})
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), dir, repo.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestChangesResetAndRestart: the numbering survives a restart of the
// server and its store; a since older than the feed keeps, or newer than
// it gave out, is 410 feed_reset with the seq to go on from.
func TestChangesResetAndRestart(t *testing.T) {
	t.Parallel()
	r0 := newRepo(t)
	dir := r0.Dir()
	r0.Close()
	r := openWithFeedKeep(t, dir, 2)
	srv := startServer(t, r)
	for i := range 4 {
		putDoc(t, srv.url, fmt.Sprintf("k%d", i), "v")
	}
	srv.close()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	r = openWithFeedKeep(t, dir, 2)
	defer r.Close()
	srv = startServer(t, r)
	defer srv.close()
	putDoc(t, srv.url, "k4", "v")
	feed(t, srv.url, "since=3", "4 main k3", "5 main k4")
	for _, since := range []string{"0", "2", "6", "99999999999"} {
		got := call(t, http.MethodGet, srv.url+wire.PathChanges+"?since="+since, nil)
		expect(t, "since="+since, got, http.StatusGone, "feed_reset")
		if h := got.header.Get(wire.HeaderSeq); h != "5" {
			t.Errorf("since=%s: Folio-Seq = %q, want the latest, 5", since, h)
		}
		if !strings.Contains(string(got.body), "continue from since=5") {
			t.Errorf("since=%s: %s", since, got.body)
		}
	}
	got := call(t, http.MethodGet, srv.url+wire.PathChanges+"?feed=continuous&since=1", nil)
	expect(t, "continuous from a dropped seq", got, http.StatusGone, "feed_reset")
}

type testServer struct {
	url   string
	close func()
}

func startServer(t testing.TB, r *repo.Repo) testServer {
	t.Helper()
	srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(r), Now: testClock()}))
	return testServer{url: srv.URL + "/", close: srv.Close}
}

// TestChangesLongpoll: feed=longpoll answers as soon as a change comes,
// and empty once its timeout passes without one.
func TestChangesLongpoll(t *testing.T) {
	t.Parallel()
	base := serve(t, newRepo(t), server.Options{})
	got := feed(t, base, "feed=longpoll&since=now&timeout=50ms")
	if h := got.header.Get(wire.HeaderSeq); h != "0" {
		t.Errorf("empty longpoll: Folio-Seq = %q, want 0", h)
	}
	done := make(chan reply)
	go func() {
		done <- call(t, http.MethodGet, base+wire.PathChanges+"?feed=longpoll&since=0&timeout=1m", nil)
	}()
	putDoc(t, base, "late", "v")
	got = <-done
	expect(t, "longpoll", got, http.StatusOK, "")
	if d := describe(changeLines(t, got.body)); !slices.Equal(d, []string{"1 main late"}) {
		t.Errorf("longpoll = %q", d)
	}
}

// TestChangesContinuous: feed=continuous sends what there is, then each
// change as it happens, and empty keep-alive lines while nothing does.
func TestChangesContinuous(t *testing.T) {
	t.Parallel()
	base := serve(t, newRepo(t), server.Options{})
	putDoc(t, base, "a", "1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+wire.PathChanges+"?feed=continuous&since=1&heartbeat=20ms&prefix=a", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("stream ended: %v", lines.Err())
		}
		return lines.Text()
	}
	putDoc(t, base, "b", "1")  // filtered out by the prefix
	putDoc(t, base, "a2", "1") // seq 3
	for {
		line := next()
		if line == "" {
			continue // keep-alive
		}
		if d := describe(changeLines(t, []byte(line))); !slices.Equal(d, []string{"3 main a2"}) {
			t.Fatalf("first streamed change = %q", d)
		}
		break
	}
	if line := next(); line != "" { // nothing more happens: keep-alives
		t.Fatalf("want a keep-alive, got %q", line)
	}
	putDoc(t, base, "a3", "1")
	for line := next(); ; line = next() {
		if line != "" {
			if d := describe(changeLines(t, []byte(line))); !slices.Equal(d, []string{"4 main a3"}) {
				t.Fatalf("second streamed change = %q", d)
			}
			break
		}
	}
}

// TestPeersEndpoint: GET /v1/peers reports what Options.Peers says about
// the repository, and an empty list without peers.
func TestPeersEndpoint(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	got := call(t, http.MethodGet, serve(t, r, server.Options{})+wire.PathPeers, nil)
	expect(t, "peers", got, http.StatusOK, "")
	if strings.TrimSpace(string(got.body)) != "[]" {
		t.Errorf("no peers: %s", got.body)
	}
	base := serve(t, r, server.Options{Peers: func(sr *server.Repo) any {
		return []map[string]any{{"url": "http://dc2/", "repo": sr.Name, "behind_by": 3}}
	}})
	got = call(t, http.MethodGet, base+wire.PathPeers, nil)
	if !strings.Contains(string(got.body), `"behind_by":3`) || !strings.Contains(string(got.body), `"url":"http://dc2/"`) {
		t.Errorf("peers: %s", got.body)
	}
}
