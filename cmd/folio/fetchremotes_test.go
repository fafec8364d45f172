package main

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
)

// A fetch of every remote goes on with the writable repository once one
// remote's fetch reopened it, and opens it writable only for a remote
// that brings something: first remote new and second unchanged, then the
// other way round, each remote's tracking ref ends at its branch.
func TestFetchOfSeveralRemotesReopensOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type hub struct {
		r      *repo.Repo
		commit func(body string) objects.ID
	}
	newHub := func() *hub {
		r, err := repo.Init(ctx, t.TempDir(), "", repo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		h := &hub{r: r}
		h.commit = func(body string) objects.ID {
			t.Helper()
			e, err := r.WriteDocumentBytes(ctx, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			id, err := r.CommitEdits(ctx, objects.BranchPrefix+"main", []repo.Edit{{Key: "a.json", Entry: e}},
				repo.CommitOptions{Message: body, Author: objects.Signature{Name: "t", Email: "t@example.com"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		return h
	}
	serveHub := func(h *hub) string {
		srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(h.r)}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	one, two := newHub(), newHub()
	one.commit(`{"hub": 1}`)
	two.commit(`{"hub": 2}`)
	dst := filepath.Join(t.TempDir(), "clone")
	if out, code := runOpened(t, dst, nil, "clone", serveHub(one), dst); code != 0 {
		t.Fatalf("folio clone: exit %d\n%s", code, out)
	}
	if out, code := runOpened(t, dst, nil, "remote", "add", "two", serveHub(two)); code != 0 {
		t.Fatalf("folio remote add: exit %d\n%s", code, out)
	}
	fetch := func() (writable int) {
		t.Helper()
		out, code := runOpened(t, dst, func(o repo.Options) {
			if !o.ReadOnly {
				writable++
			}
		}, "fetch")
		if code != 0 {
			t.Fatalf("folio fetch: exit %d\n%s", code, out)
		}
		return writable
	}
	check := func(want map[string]objects.ID) {
		t.Helper()
		r, err := repo.Open(ctx, filepath.Join(dst, repo.DirName), repo.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for name, id := range want {
			if got, err := r.Store().Ref(ctx, objects.RemotePrefix+name); err != nil || got != id {
				t.Errorf("%s is %s (%v), want %s", name, got.Short(), err, id.Short())
			}
		}
	}
	if n := fetch(); n != 1 {
		t.Errorf("a fetch that brought remote two's branch opened the repository writable %d times, want 1", n)
	}
	a := one.commit(`{"hub": 1, "v": 2}`)
	b := two.commit(`{"hub": 2, "v": 2}`)
	if n := fetch(); n != 1 {
		t.Errorf("a fetch that brought both remotes' commits opened the repository writable %d times, want 1", n)
	}
	check(map[string]objects.ID{"origin/main": a, "two/main": b})
	b = two.commit(`{"hub": 2, "v": 3}`)
	if n := fetch(); n != 1 {
		t.Errorf("a fetch that brought remote two's commit only opened the repository writable %d times, want 1", n)
	}
	a = one.commit(`{"hub": 1, "v": 3}`)
	if n := fetch(); n != 1 {
		t.Errorf("a fetch that brought origin's commit only opened the repository writable %d times, want 1", n)
	}
	if n := fetch(); n != 0 {
		t.Errorf("a fetch that brought nothing opened the repository writable %d times", n)
	}
	check(map[string]objects.ID{"origin/main": a, "two/main": b})
}
