package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
)

// commitDoc commits one document on main, at a fixed time (safe in
// parallel tests, unlike write).
func commitDoc(t *testing.T, r *repo.Repo, key string) {
	t.Helper()
	commitDocBody(t, r, key, key)
}

// commitDocBody commits key holding body on main.
func commitDocBody(t *testing.T, r *repo.Repo, key, body string) {
	t.Helper()
	if err := tryCommitDocBody(r, key, body); err != nil {
		t.Fatal(err)
	}
}

// tryCommitDocBody is commitDocBody, returning its error.
func tryCommitDocBody(r *repo.Repo, key, body string) error {
	ctx := context.Background()
	e, err := r.WriteDocumentBytes(ctx, []byte(body))
	if err != nil {
		return err
	}
	_, err = r.CommitEdits(ctx, main, []repo.Edit{{Key: key, Entry: e}}, repo.CommitOptions{Message: "write",
		Time: tick(), Author: objects.Signature{Name: "t", Email: "t@example.com"}}, nil)
	return err
}

// watchInto runs Watch in the background and sends what it sees; the
// returned function stops it and returns Watch's error.
func watchInto(t *testing.T, src remote.ChangeSource, opts remote.WatchOptions) (<-chan objects.Change, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan objects.Change, 100)
	done := make(chan error, 1)
	go func() {
		done <- remote.Watch(ctx, src, opts, func(c objects.Change) error { seen <- c; return nil })
	}()
	stop := sync.OnceValue(func() error { cancel(); return <-done })
	t.Cleanup(func() { stop() })
	return seen, stop
}

func wantSeen(t *testing.T, seen <-chan objects.Change, want ...string) {
	t.Helper()
	for _, w := range want {
		c := <-seen
		if got := fmt.Sprintf("%d %v", c.Seq, c.Keys); got != w {
			t.Fatalf("watched %q, want %q", got, w)
		}
	}
}

// TestWatchServer: Watch follows a server's continuous feed from now on,
// with the prefix applied by the server, and stops cleanly with its ctx.
func TestWatchServer(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	commitDoc(t, r, "users/0") // before the watch: not seen
	c, err := client.New(serve(t, r, nil), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// From an explicit since, not now: what counts as "now" would depend
	// on when the watch connects.
	seen, stop := watchInto(t, remote.ServerFeed{Client: c, Heartbeat: 20 * time.Millisecond},
		remote.WatchOptions{FeedQuery: remote.FeedQuery{Since: 1, Prefix: "users/"}})
	commitDoc(t, r, "orders/1")
	commitDoc(t, r, "users/1")
	commitDoc(t, r, "users/2")
	wantSeen(t, seen, "3 [users/1]", "4 [users/2]")
	if err := stop(); err != nil {
		t.Errorf("Watch after its ctx ended: %v", err)
	}
}

// feedKeepRepo is a repository on a real Badger store whose change feed
// keeps only keep moves.
func feedKeepRepo(t *testing.T, keep int) *repo.Repo {
	t.Helper()
	r0 := newRepo(t)
	dir := r0.Dir()
	r0.Close()
	store, err := badgerstore.Open(filepath.Join(dir, "db"), badgerstore.Options{FeedKeep: keep})
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), dir, repo.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestWatchReset: a since the server no longer keeps is a reset (over the
// wire too), and Watch goes on from the latest change.
func TestWatchReset(t *testing.T) {
	t.Parallel()
	r := feedKeepRepo(t, 2)
	for i := range 4 {
		commitDoc(t, r, fmt.Sprint("k", i))
	}
	srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(r)}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pos, err := c.Changes(t.Context(), client.ChangesRequest{Since: 1}, func(objects.Change) error { return nil })
	if !errors.Is(err, objects.ErrFeedReset) || pos != 4 {
		t.Fatalf("client.Changes since a dropped seq = %d, %v; want 4, ErrFeedReset", pos, err)
	}
	resets := make(chan uint64, 1)
	seen, _ := watchInto(t, remote.ServerFeed{Client: c, Heartbeat: 20 * time.Millisecond},
		remote.WatchOptions{FeedQuery: remote.FeedQuery{Since: 1}, OnReset: func(latest uint64) { resets <- latest }})
	if got := <-resets; got != 4 {
		t.Errorf("reset to %d, want 4", got)
	}
	commitDoc(t, r, "after")
	wantSeen(t, seen, "5 [after]")
}

// TestWatchLocal: a repository nobody serves is polled, opened read-only
// for each read.
func TestWatchLocal(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	commitDoc(t, r, "a")
	commitDoc(t, r, "b")
	dir := r.Dir()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	opens := 0
	src := remote.LocalFeed{Interval: 10 * time.Millisecond, Open: func(ctx context.Context) (*repo.Repo, error) {
		opens++
		return repo.Open(ctx, dir, repo.Options{ReadOnly: true})
	}}
	seen, stop := watchInto(t, src, remote.WatchOptions{FeedQuery: remote.FeedQuery{Since: 1}})
	wantSeen(t, seen, "2 [b]")
	stop()
	if opens < 1 {
		t.Errorf("opened %d times", opens)
	}
	var got []uint64
	err := remote.Watch(t.Context(), src, remote.WatchOptions{}, func(c objects.Change) error {
		got = append(got, c.Seq)
		if len(got) == 2 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) || !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("Watch from 0 = %v, %v", got, err)
	}
}

var errStop = errors.New("enough")

// TestWatchResetMidStream: a continuous reader that falls further behind
// than the feed keeps (three moves at once, two kept) gets a reset line,
// which the client turns into ErrFeedReset and Watch into OnReset.
func TestWatchResetMidStream(t *testing.T) {
	t.Parallel()
	r := feedKeepRepo(t, 2)
	commitDoc(t, r, "a")
	srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(r)}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opened := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Changes(t.Context(), client.ChangesRequest{Since: 1, Feed: "continuous", Heartbeat: 10 * time.Millisecond,
			Opened: func() { close(opened) }}, func(objects.Change) error { return nil })
		done <- err
	}()
	// Once the stream is open, three branches created in one update are
	// three moves at once.
	<-opened
	head := head(t, r)
	if err := r.Store().UpdateRefs(t.Context(),
		objects.RefUpdate{Name: "refs/heads/x", New: head},
		objects.RefUpdate{Name: "refs/heads/y", New: head},
		objects.RefUpdate{Name: "refs/heads/z", New: head}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, objects.ErrFeedReset) {
		t.Fatalf("a stream that fell behind the feed: %v, want ErrFeedReset", err)
	}
}
