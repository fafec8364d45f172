package remote_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/server"
)

// Login stores a token only once the server has taken it, at a server's
// root (for every repository under it) or at one repository's URL; a
// server with no tokens takes any.
func TestLogin(t *testing.T) {
	ctx := context.Background()
	creds := filepath.Join(t.TempDir(), "credentials.json")
	t.Setenv("FOLIO_CREDENTIALS", creds)
	t.Setenv("FOLIO_TOKEN", "")

	dir := t.TempDir()
	if _, err := repo.Init(ctx, filepath.Join(dir, "orders"), "", repo.Options{}); err != nil {
		t.Fatal(err)
	}
	auth := &server.Auth{}
	orders, _ := auth.AddToken("orders-ci", server.ScopeReadWrite, []string{"orders"}, time.Time{})
	expired, _ := auth.AddToken("old", server.ScopeRead, nil, time.Now().Add(-time.Hour))
	repos := server.Root(dir, func(ctx context.Context, dir string) (*repo.Repo, error) {
		return repo.Open(ctx, dir, repo.Options{})
	}, server.RootOptions{})
	t.Cleanup(func() { repos.Close() })
	srv := httptest.NewServer(server.New(server.Options{Repos: repos, Auth: auth}))
	t.Cleanup(srv.Close)
	root := srv.URL + "/"

	for _, bad := range []string{"folio_unknown", expired} {
		if _, err := remote.Login(ctx, root, bad, remote.Options{}); !errors.Is(err, remote.ErrTokenRefused) {
			t.Fatalf("login with %q: %v, want refused", bad, err)
		}
		if _, err := os.Stat(creds); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a refused token was stored: %v", err)
		}
	}
	for _, url := range []string{root, root + "orders/"} {
		info, err := remote.Login(ctx, url, orders, remote.Options{})
		if err != nil {
			t.Fatalf("login at %s: %v", url, err)
		}
		if !info.Checked || info.Name != "orders-ci" || info.Scope != "read-write" || !slices.Equal(info.Repos, []string{"orders"}) {
			t.Fatalf("login at %s: %+v", url, info)
		}
		if got, err := remote.TokenFor(remote.Remote{Name: "x", URL: root + "orders/"}); err != nil || got != orders {
			t.Fatalf("token for the repository after login at %s: %q, %v", url, got, err)
		}
	}

	open := httptest.NewServer(server.New(server.Options{Repos: repos}))
	t.Cleanup(open.Close)
	info, err := remote.Login(ctx, open.URL+"/", "anything", remote.Options{})
	if err != nil || info.Checked {
		t.Fatalf("login to a server without tokens: %+v, %v", info, err)
	}
}
