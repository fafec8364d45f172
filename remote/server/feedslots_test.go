package server_test

import (
	"bufio"
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// Change-feed readers of a server of a folder hold no open repository
// while they wait: with room for two open repositories, two continuous
// watchers and a longpoll leave every other repository readable (before,
// each held its place until it ended, and the reads got 503 busy), and
// they still see every change, also after their repository was closed to
// make room and opened again by a writer.
func TestFeedWaitsHoldNoRepository(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	names := []string{"r0", "r1", "r2", "r3"}
	makeRepos(t, dir, names...)
	repos := server.Root(dir, func(ctx context.Context, dir string) (*repo.Repo, error) {
		return repo.Open(ctx, dir, repo.Options{})
	}, server.RootOptions{MaxOpen: 2, IdleClose: time.Hour})
	t.Cleanup(func() { repos.Close() })
	base := serve(t, nil, server.Options{Repos: repos,
		// Bounds that end a test that fails (before: reads wait for a place
		// the feeds hold, until they get 503 busy).
		Limits: server.Limits{RequestTimeout: 5 * time.Second, TransferTimeout: 20 * time.Second}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	watch := func(name string) *bufio.Scanner {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+name+"/"+wire.PathChanges+"?feed=continuous&since=now", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return bufio.NewScanner(resp.Body)
	}
	next := func(s *bufio.Scanner) []string {
		t.Helper()
		for s.Scan() {
			if s.Text() != "" { // keep-alives are empty
				return describe(changeLines(t, s.Bytes()))
			}
		}
		t.Fatalf("stream ended: %v", s.Err())
		return nil
	}
	w0, w1 := watch("r0"), watch("r1")
	longpoll := make(chan reply, 1)
	go func() { // since=1: after the commit makeRepos made
		longpoll <- call(t, http.MethodGet, base+"r2/"+wire.PathChanges+"?feed=longpoll&timeout=1m&since=1", nil)
	}()

	for _, name := range []string{"r3", "r0", "r3", "r1"} {
		got := call(t, http.MethodGet, base+name+"/"+wire.PathDocs+"/name", nil)
		expect(t, "read "+name+" while three feeds wait", got, http.StatusOK, "")
	}
	if n := server.SweepIdle(repos, time.Time{}); n > 2 {
		t.Errorf("%d repositories open, want at most 2", n)
	}
	for _, name := range []string{"r2", "r3", "r0", "r1"} { // r0 and r1 closed and opened again
		putDoc(t, base+name+"/", "k-"+name, "v")
	}
	for i, s := range []*bufio.Scanner{w0, w1} {
		if got := next(s); len(got) != 1 || !slices.Contains([]string{"2 main k-r0", "2 main k-r1"}, got[0]) || got[0][len(got[0])-1] != byte('0'+i) {
			t.Errorf("watcher of r%d saw %q", i, got)
		}
	}
	got := <-longpoll
	expect(t, "longpoll on r2", got, http.StatusOK, "")
	if d := describe(changeLines(t, got.body)); !slices.Equal(d, []string{"2 main k-r2"}) {
		t.Errorf("longpoll on r2 = %q", d)
	}
}
