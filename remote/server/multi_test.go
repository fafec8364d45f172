package server_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// Served from a folder, each repository lives at /NAME/v1/...; writes to
// one leave the others alone.
func TestMultiRepositoryMode(t *testing.T) {
	dir := t.TempDir()
	makeRepos(t, dir, "a", "b")
	base := serve(t, nil, server.Options{Repos: rootOf(t, dir)})

	for _, name := range []string{"a", "b"} {
		got := call(t, http.MethodGet, base+name+"/"+wire.PathDocs+"/name", nil)
		expect(t, "read "+name, got, http.StatusOK, "")
		if string(got.body) != name {
			t.Errorf("/%s/ serves the document of %q", name, got.body)
		}
	}
	expect(t, "write a", call(t, http.MethodPut, base+"a/"+wire.PathDocs+"/only-a", []byte("x")), http.StatusCreated, "")
	expect(t, "read it from b", call(t, http.MethodGet, base+"b/"+wire.PathDocs+"/only-a", nil), http.StatusNotFound, "not_found")
	if log := logOf(t, base+"a/", "main", 0); len(log) != 2 {
		t.Errorf("a has %d commits, want 2", len(log))
	}
	if log := logOf(t, base+"b/", "main", 0); len(log) != 1 {
		t.Errorf("b has %d commits, want 1", len(log))
	}
	expect(t, "refs without a repository name", call(t, http.MethodGet, base+wire.PathRefs, nil), http.StatusNotFound, "")
}

// Names that are not a repository directly under the folder are 404: an
// unknown name, a folder without a repository, and names that would lead
// elsewhere ("..", hidden folders, escaped slashes), even when a
// repository is there.
func TestMultiRepositoryNames(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "served")
	makeRepos(t, dir, "a")
	makeRepos(t, top, "outside")                    // top/outside, a sibling of the served folder
	makeRepos(t, filepath.Join(dir, "a"), "nested") // served/a/nested
	makeRepos(t, dir, ".hidden")                    // served/.hidden
	if err := os.Mkdir(filepath.Join(dir, "plain"), 0o755); err != nil {
		t.Fatal(err)
	}
	opened := 0
	repos := server.Root(dir, func(ctx context.Context, dir string) (*repo.Repo, error) {
		opened++
		return repo.Open(ctx, dir, repo.Options{})
	}, server.RootOptions{})
	t.Cleanup(func() { repos.Close() })
	base := serve(t, nil, server.Options{Repos: repos})

	for _, name := range []string{"nope", "plain", "%2e%2e", ".hidden", "%2Ehidden", "..%2Foutside", "a%2Fnested", "%2E", "a%00"} {
		got := call(t, http.MethodGet, base+name+"/"+wire.PathDocs+"/name", nil)
		if got.status != http.StatusNotFound {
			t.Errorf("/%s/: status %d, want 404 (body %s)", name, got.status, got.body)
		}
	}
	ctx := context.Background()
	for _, name := range []string{"", "..", ".", "../outside", "a/nested", ".hidden", "nope", "plain", "a\x00"} {
		if _, _, err := repos.Get(ctx, name); !errors.Is(err, objects.ErrNotFound) {
			t.Errorf("Get(%q): %v, want not found", name, err)
		}
	}
	if opened != 0 {
		t.Fatalf("opened %d repositories for names that are not served", opened)
	}
	if _, _, err := repos.Get(ctx, "a"); err != nil || opened != 1 {
		t.Fatalf("Get(a): %v after %d opens", err, opened)
	}
	if _, _, err := repos.Get(ctx, "a"); err != nil || opened != 1 {
		t.Fatalf("a second Get(a) opened it again (%d opens): %v", opened, err)
	}
}
