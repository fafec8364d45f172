package remote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

const main = objects.BranchPrefix + "main"

// ticks counts the test clock's minutes; tests run in parallel, so it
// moves atomically.
var ticks atomic.Int64

// tick returns the test clock's next minute.
func tick() time.Time {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ticks.Add(1)) * time.Minute)
}

func newRepo(t *testing.T) *repo.Repo {
	t.Helper()
	r, err := repo.Init(context.Background(), t.TempDir(), "", repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// serve runs a real HTTP server on 127.0.0.1 for a repository.
func serve(t *testing.T, r *repo.Repo, auth *server.Auth) string {
	t.Helper()
	srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(r), Auth: auth,
		Sync: func(ctx context.Context, r *repo.Repo, writes sync.Locker, req wire.SyncRequest) (any, error) {
			return nil, nil
		}}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func write(t *testing.T, r *repo.Repo, docs map[string]string) objects.ID {
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
	id, err := r.CommitEdits(ctx, main, edits, repo.CommitOptions{Message: "write", Time: tick(),
		Author: objects.Signature{Name: "t", Email: "t@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func head(t testing.TB, r *repo.Repo) objects.ID {
	t.Helper()
	id, err := r.RefOrZero(context.Background(), main)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func read(t *testing.T, r *repo.Repo, key string) string {
	t.Helper()
	_, e, err := r.ResolveDocument(context.Background(), "main", key)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := r.ReadDocument(context.Background(), e)
	return string(data)
}

func TestCloneFetchPush(t *testing.T) {
	ctx := context.Background()
	hub := newRepo(t)
	for i := range 200 {
		write(t, hub, map[string]string{fmt.Sprintf("doc%03d.json", i): fmt.Sprintf(`{"n": %d}`, i)})
	}
	url := serve(t, hub, nil)

	dir := filepath.Join(t.TempDir(), "clone")
	leader, cloned, err := remote.Clone(ctx, url, dir, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	if cloned.Requests != 1 || cloned.Branch != "main" || cloned.Note != "" {
		t.Errorf("clone made %d requests, checked out %q (%q), want 1 and main", cloned.Requests, cloned.Branch, cloned.Note)
	}
	if head(t, leader) != head(t, hub) || read(t, leader, "doc007.json") != `{"n": 7}` {
		t.Fatal("clone does not match the hub")
	}

	// One new commit on the hub: a fetch is one request and small.
	write(t, hub, map[string]string{"doc100.json": `{"n": "changed"}`})
	origin, _ := remote.Lookup(leader.Files, "origin")
	rep, err := remote.Fetch(ctx, leader, origin, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 1 || rep.ObjectsReceived > 6 || rep.BytesReceived > 8<<10 {
		t.Errorf("fetch of one commit: %d requests, %d objects, %d bytes", rep.Requests, rep.ObjectsReceived, rep.BytesReceived)
	}
	tracking, _ := leader.RefOrZero(ctx, remote.TrackingRef("origin", main))
	if tracking != head(t, hub) {
		t.Error("remote-tracking ref not moved")
	}

	// The leader is behind: a push is refused until it merges.
	write(t, leader, map[string]string{"local.txt": "local\n"})
	_, err = remote.Push(ctx, leader, origin, []string{main}, remote.PushOptions{})
	if !errors.Is(err, remote.ErrFetchFirst) {
		t.Fatalf("push behind the remote: %v", err)
	}
	// Sync merges and pushes back.
	srep, err := remote.Sync(ctx, leader, origin, remote.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if head(t, leader) != head(t, hub) || read(t, hub, "local.txt") != "local\n" || read(t, leader, "doc100.json") != `{"n": "changed"}` {
		t.Fatalf("sync did not converge: %+v", srep)
	}
	// A sync with nothing new is one request.
	srep, err = remote.Sync(ctx, leader, origin, remote.SyncOptions{})
	if err != nil || srep.Requests != 1 {
		t.Errorf("idle sync: %d requests, %v", srep.Requests, err)
	}

	// Force with lease: replaces only the value named.
	old := head(t, hub)
	rewritten := write(t, leader, map[string]string{"x": "y"})
	_, err = remote.Push(ctx, leader, origin, []string{main}, remote.PushOptions{Lease: map[string]objects.ID{main: objects.Hash([]byte("wrong"))}})
	if !errors.Is(err, objects.ErrRefChanged) {
		t.Fatalf("push with a stale lease: %v", err)
	}
	if _, err = remote.Push(ctx, leader, origin, []string{main}, remote.PushOptions{Lease: map[string]objects.ID{main: old}}); err != nil {
		t.Fatal(err)
	}
	if head(t, hub) != rewritten {
		t.Error("push with the right lease did not move the branch")
	}
}

func TestSyncConvergesConflictingLeaders(t *testing.T) {
	ctx := context.Background()
	hub := newRepo(t)
	write(t, hub, map[string]string{"shared.json": `{"a": 1, "b": 1}`})
	url := serve(t, hub, nil)
	var leaders []*repo.Repo
	for i := range 2 {
		l, _, err := remote.Clone(ctx, url, filepath.Join(t.TempDir(), fmt.Sprint(i)), remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		leaders = append(leaders, l)
	}
	write(t, leaders[0], map[string]string{"shared.json": `{"a": 2, "b": 1}`, "zero.txt": "0"})
	write(t, leaders[1], map[string]string{"shared.json": `{"a": 3, "b": 1}`, "one.txt": "1"})
	origin := remote.Remote{Name: "origin", URL: url}
	conflicts := 0
	for range 2 {
		for _, l := range leaders {
			rep, err := remote.Sync(ctx, l, origin, remote.SyncOptions{})
			if err != nil {
				t.Fatal(err)
			}
			conflicts += rep.NewConflicts()
		}
	}
	if conflicts != 1 {
		t.Errorf("%d conflicts recorded, want 1", conflicts)
	}
	if head(t, leaders[0]) != head(t, leaders[1]) || head(t, leaders[0]) != head(t, hub) {
		t.Fatal("leaders did not converge")
	}
	if got := read(t, leaders[0], "shared.json"); got != `{"a": 3, "b": 1}` {
		t.Errorf("winner's version: %s (the later commit should win)", got)
	}
}

func TestAuthScopes(t *testing.T) {
	ctx := context.Background()
	hub := newRepo(t)
	write(t, hub, map[string]string{"a": "a"})
	auth := &server.Auth{}
	readTok, _ := auth.AddToken("reader", server.ScopeRead, nil, time.Time{})
	writeTok, _ := auth.AddToken("writer", server.ScopeReadWrite, nil, time.Time{})
	url := serve(t, hub, auth)
	dir := filepath.Join(t.TempDir(), "c")

	t.Setenv("FOLIO_TOKEN", "folio_wrong")
	if _, _, err := remote.Clone(ctx, url, dir, remote.Options{}); !errors.Is(err, wire.ErrUnauthorized) {
		t.Fatalf("clone with a wrong token: %v", err)
	}
	t.Setenv("FOLIO_TOKEN", readTok)
	leader, _, err := remote.Clone(ctx, url, dir, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	write(t, leader, map[string]string{"b": "b"})
	origin := remote.Remote{Name: "origin", URL: url}
	if _, err := remote.Push(ctx, leader, origin, []string{main}, remote.PushOptions{}); !errors.Is(err, wire.ErrForbidden) {
		t.Fatalf("push with a read token: %v", err)
	}
	t.Setenv("FOLIO_TOKEN", writeTok)
	if _, err := remote.Push(ctx, leader, origin, []string{main}, remote.PushOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A push trusts only the refs the remote advertises, never the
// remote-tracking refs: the remote may have been replaced by an empty one.
func TestPushToAReplacedRemote(t *testing.T) {
	ctx := context.Background()
	leader := newRepo(t)
	id := write(t, leader, map[string]string{"a.txt": "a"})
	first := newRepo(t)
	rm := remote.Remote{Name: "dc1", URL: serve(t, first, nil)}
	if _, err := remote.Push(ctx, leader, rm, []string{main}, remote.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	replaced := newRepo(t)
	rm.URL = serve(t, replaced, nil) // same name, new empty leader
	if _, err := remote.Push(ctx, leader, rm, []string{main}, remote.PushOptions{}); err != nil {
		t.Fatalf("push to the replaced remote: %v", err)
	}
	if head(t, replaced) != id {
		t.Error("the replaced remote did not get the branch")
	}
}

// A served leader whose application keeps writing while it syncs still
// syncs in one round: the branch moves are taken under the writers' lock
// (the server passes the lock its document writes take).
func TestSyncWhileTheApplicationWrites(t *testing.T) {
	ctx := context.Background()
	hub := newRepo(t)
	write(t, hub, map[string]string{"base": "b"})
	url := serve(t, hub, nil)
	leader, _, err := remote.Clone(ctx, url, filepath.Join(t.TempDir(), "l"), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	write(t, hub, map[string]string{"from-hub": "h"}) // so the leader must merge
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			mu.Lock()
			e, _ := leader.WriteDocumentBytes(ctx, fmt.Appendf(nil, "%d", n))
			_, err := leader.CommitEdits(ctx, main, []repo.Edit{{Key: fmt.Sprintf("app/%d", n), Entry: e}},
				repo.CommitOptions{Message: "app", Time: time.Unix(int64(n), 0).UTC(),
					Author: objects.Signature{Name: "app", Email: "app@example.com"}}, nil)
			mu.Unlock()
			if err == nil {
				n++
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	opts := remote.SyncOptions{Attempts: 1, Writes: &mu}
	rep, err := remote.Sync(ctx, leader, remote.Remote{Name: "origin", URL: url}, opts)
	close(stop)
	writes := <-done
	if err != nil {
		t.Fatalf("sync during %d application writes: %v", writes, err)
	}
	if read(t, hub, "from-hub") != "h" || rep.Branches[0].Action != "merged" {
		t.Errorf("report %+v", rep.Branches)
	}
}

// A clone leaves its repository in the folder it was given, and nothing
// else there, whether the remote has commits or none.
func TestCloneLeavesOnlyTheRepository(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	empty, full := newRepo(t), newRepo(t)
	write(t, full, map[string]string{"a.txt": "1"})
	for name, src := range map[string]*repo.Repo{"empty": empty, "with commits": full} {
		dir := filepath.Join(t.TempDir(), "clone")
		r, _, err := remote.Clone(ctx, serve(t, src, nil), dir, remote.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r.Close()
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 1 || entries[0].Name() != repo.DirName {
			t.Fatalf("%s: the clone's folder holds %v (%v), want only %s", name, entries, err, repo.DirName)
		}
		again, err := repo.Open(ctx, filepath.Join(dir, repo.DirName), repo.Options{})
		if err != nil {
			t.Fatalf("%s: opening the clone: %v", name, err)
		}
		if got, want := again.RefOrZero(ctx, main); got != head(t, src) || want != nil {
			t.Errorf("%s: main is %s (%v), want %s", name, got.Short(), want, head(t, src).Short())
		}
		again.Close()
	}
}

// TestCloneAfterAKilledClone: a clone killed on the way leaves its hidden
// staging folder; a second clone into the same folder says what it is and
// how to remove it, rather than only that the folder is not empty.
func TestCloneAfterAKilledClone(t *testing.T) {
	t.Parallel()
	src := newRepo(t)
	write(t, src, map[string]string{"a.txt": "1"})
	dir := filepath.Join(t.TempDir(), "clone")
	left := filepath.Join(dir, ".folio-clone-123")
	if err := os.MkdirAll(filepath.Join(left, repo.DirName), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, err := remote.Clone(context.Background(), serve(t, src, nil), dir, remote.Options{})
	if err == nil || !strings.Contains(err.Error(), "a clone that was stopped") || !strings.Contains(err.Error(), left) {
		t.Fatalf("clone over a stopped clone's folder: %v, want an error naming %s", err, left)
	}
	if _, err := os.Stat(left); err != nil {
		t.Errorf("the stopped clone's folder is gone (%v): only the user removes it", err)
	}
}

// TestFetchWalksNoHistoryTheRemoteHas: a fetch into a clone that made no
// commit of its own since it last heard from the remote tells it its tips
// only: the remote has every commit below them, so walking the history
// for recent commits to name would be wasted (a tenth of a no-op fetch's
// CPU on 400 commits). Failed before: 49 haves, 48 of them walked.
func TestFetchWalksNoHistoryTheRemoteHas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub := newRepo(t)
	for i := range 80 {
		write(t, hub, map[string]string{"doc.json": fmt.Sprintf(`{"n": %d}`, i)})
	}
	var haves atomic.Int64
	srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(hub)}))
	t.Cleanup(srv.Close)
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, wire.PathFetch) {
			body, _ := io.ReadAll(req.Body)
			var fr wire.FetchRequest
			if err := json.Unmarshal(body, &fr); err == nil {
				haves.Store(int64(len(fr.Haves)))
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		httputil.NewSingleHostReverseProxy(mustURL(t, srv.URL)).ServeHTTP(w, req)
	}))
	t.Cleanup(counting.Close)
	leader, _, err := remote.Clone(ctx, counting.URL+"/", filepath.Join(t.TempDir(), "leader"), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	origin, _ := remote.Lookup(leader.Files, "origin")
	if _, err := remote.Fetch(ctx, leader, origin, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := haves.Load(); n == 0 || n > 2 {
		t.Errorf("a fetch with nothing made here named %d haves; want its tips (main and origin/main, one commit)", n)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestFetchSendsBackNothingMadeHere: a fetch from a leader that took
// commits made here (by its own fetch, so this repository's tracking ref
// does not know it) while this repository went on writing brings only
// the leader's own commits: this repository's tip is new to the leader,
// but the commits just below it tell the leader what it need not send
// (failed before: the fetch brought back the commit made here, and its
// document and nodes).
func TestFetchSendsBackNothingMadeHere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub := newRepo(t)
	write(t, hub, map[string]string{"root.json": `{"root": true}`})
	leader, _, err := remote.Clone(ctx, serve(t, hub, nil), filepath.Join(t.TempDir(), "leader"), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	mine := write(t, leader, map[string]string{"mine.json": `{"leader": 1}`})

	// The hub fetches the leader's commit and writes on top of it.
	byHub := remote.Remote{Name: "leader", URL: serve(t, leader, nil)}
	if _, err := remote.Fetch(ctx, hub, byHub, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := hub.Store().UpdateRefs(ctx, objects.RefUpdate{Name: main, Old: head(t, hub), New: mine}); err != nil {
		t.Fatal(err)
	}
	theirs := write(t, hub, map[string]string{"theirs.json": `{"hub": 1}`})
	write(t, leader, map[string]string{"mine.json": `{"leader": 2}`})

	_, lacked := benchMissing(t, hub, leader, theirs)
	origin, _ := remote.Lookup(leader.Files, "origin")
	rep, err := remote.Fetch(ctx, leader, origin, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ObjectsReceived != lacked {
		t.Errorf("the fetch brought %d objects, of which the leader lacked %d", rep.ObjectsReceived, lacked)
	}
}
