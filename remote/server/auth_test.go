package server_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// tokens makes an auth with a read token, a read-write token, and a
// read-write token limited to repository "a".
func tokens(t *testing.T, anonymousRead bool) (auth *server.Auth, read, write, onlyA string) {
	t.Helper()
	auth = &server.Auth{AnonymousRead: anonymousRead}
	var err error
	if read, err = auth.AddToken("reader", server.ScopeRead, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if write, err = auth.AddToken("writer", server.ScopeReadWrite, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if onlyA, err = auth.AddToken("only-a", server.ScopeReadWrite, []string{"a"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return auth, read, write, onlyA
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// Without a token a request is 401 with a WWW-Authenticate challenge; an
// unknown token is 401; a read token reads but cannot write (403); a
// read-write token does both; anonymous reads only when configured.
func TestAuthScopes(t *testing.T) {
	for _, anonymous := range []bool{false, true} {
		name := "tokens only"
		if anonymous {
			name = "anonymous read"
		}
		t.Run(name, func(t *testing.T) {
			r := newRepo(t)
			c1 := commitDocs(t, r, mainRef, map[string]string{"a.txt": "a\n"}, t0)
			auth, read, write, _ := tokens(t, anonymous)
			base := serve(t, r, server.Options{Auth: auth})
			doc := base + wire.PathDocs + "/a.txt"
			reads := []string{doc, base + wire.PathDocs, base + wire.PathLog, base + wire.PathRefs}

			for _, u := range reads {
				got := call(t, http.MethodGet, u, nil)
				if anonymous {
					expect(t, "anonymous GET "+u, got, http.StatusOK, "")
					continue
				}
				expect(t, "GET without a token "+u, got, http.StatusUnauthorized, "unauthorized")
				if !strings.HasPrefix(got.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without a Bearer challenge: %q", got.header.Get("WWW-Authenticate"))
				}
			}
			for _, h := range [][]string{nil, {"Authorization", "Bearer "}, {"Authorization", "Basic dXNlcjpwYXNz"}, {"Authorization", read}} {
				got := call(t, http.MethodPut, doc, []byte("b\n"), h...)
				expect(t, "PUT without a usable token", got, http.StatusUnauthorized, "unauthorized")
				if got.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
			for _, tok := range []string{"folio_unknown", write + "x", strings.TrimPrefix(server.HashToken(write), "blake3:")} {
				expect(t, "GET with an unknown token", call(t, http.MethodGet, doc, nil, bearer(tok)...), http.StatusUnauthorized, "unauthorized")
			}
			for _, u := range reads {
				expect(t, "GET with a read token "+u, call(t, http.MethodGet, u, nil, bearer(read)...), http.StatusOK, "")
			}
			expect(t, "PUT with a read token", call(t, http.MethodPut, doc, []byte("b\n"), bearer(read)...), http.StatusForbidden, "forbidden")
			expect(t, "DELETE with a read token", call(t, http.MethodDelete, doc, nil, bearer(read)...), http.StatusForbidden, "forbidden")
			expect(t, "push with a read token", call(t, http.MethodPost, base+wire.PathPush, []byte{0}, bearer(read)...), http.StatusForbidden, "forbidden")
			expect(t, "sync with a read token", call(t, http.MethodPost, base+wire.PathSync, []byte("{}"), bearer(read)...), http.StatusForbidden, "forbidden")
			if headOf(t, r, mainRef) != c1 {
				t.Fatal("a refused write moved the branch")
			}

			put := call(t, http.MethodPut, doc, []byte("b\n"), bearer(write)...)
			expect(t, "PUT with a read-write token", put, http.StatusOK, "")
			if log := logOf(t, base, "main", 1, bearer(write)...); log[0].Author.Name != "writer" {
				t.Errorf("a write through the API is signed %+v, want the token's name", log[0].Author)
			}
		})
	}
}

// A token limited to some repositories opens those only.
func TestAuthTokenLimitedToRepositories(t *testing.T) {
	dir := t.TempDir()
	makeRepos(t, dir, "a", "b")
	auth, read, _, onlyA := tokens(t, false)
	base := serve(t, nil, server.Options{Auth: auth, Repos: rootOf(t, dir)})

	expect(t, "read a", call(t, http.MethodGet, base+"a/"+wire.PathDocs+"/name", nil, bearer(onlyA)...), http.StatusOK, "")
	expect(t, "write a", call(t, http.MethodPut, base+"a/"+wire.PathDocs+"/x", []byte("x"), bearer(onlyA)...), http.StatusCreated, "")
	expect(t, "read b", call(t, http.MethodGet, base+"b/"+wire.PathDocs+"/name", nil, bearer(onlyA)...), http.StatusForbidden, "forbidden")
	expect(t, "refs of b", call(t, http.MethodGet, base+"b/"+wire.PathRefs, nil, bearer(onlyA)...), http.StatusForbidden, "forbidden")
	expect(t, "write b", call(t, http.MethodPut, base+"b/"+wire.PathDocs+"/x", []byte("x"), bearer(onlyA)...), http.StatusForbidden, "forbidden")
	expect(t, "read b with an unlimited token", call(t, http.MethodGet, base+"b/"+wire.PathDocs+"/name", nil, bearer(read)...), http.StatusOK, "")
}

// The auth file keeps hashes, never tokens, is readable by its owner only,
// and refuses entries it cannot check.
func TestAuthFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.json")
	empty, err := server.LoadOrNewAuth(path)
	if err != nil || len(empty.Tokens) != 0 {
		t.Fatalf("missing auth file: %+v, %v", empty, err)
	}
	auth, read, write, _ := tokens(t, true)
	if read == write || !strings.HasPrefix(read, "folio_") || len(read) < 40 {
		t.Fatalf("weak tokens %q, %q", read, write)
	}
	if err := auth.Save(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("auth file mode %v, want 0600", info.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte(read)) || bytes.Contains(data, []byte(write)) || !bytes.Contains(data, []byte(server.HashToken(read))) {
		t.Fatalf("the auth file holds a token, or not its hash:\n%s", data)
	}
	loaded, err := server.LoadAuth(path)
	if err != nil || !loaded.AnonymousRead || len(loaded.Tokens) != 3 || loaded.Tokens[1].Scope != server.ScopeReadWrite {
		t.Fatalf("loaded %+v, %v", loaded, err)
	}
	r := newRepo(t)
	commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	base := serve(t, r, server.Options{Auth: loaded})
	expect(t, "write with a loaded token", call(t, http.MethodPut, base+wire.PathDocs+"/a", []byte("b"), bearer(write)...), http.StatusOK, "")

	for _, bad := range []string{
		`{"tokens": [{"name": "x", "hash": "sha1:00", "scope": "read"}]}`,
		`{"tokens": [{"name": "x", "hash": "blake3:00", "scope": "admin"}]}`,
		`{"tokens": [`,
	} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := server.LoadAuth(path); err == nil {
			t.Errorf("LoadAuth accepted %s", bad)
		}
	}
	if _, err := (&server.Auth{}).AddToken("x", "admin", nil, time.Time{}); err == nil {
		t.Error("AddToken accepted an unknown scope")
	}
}

// /healthz answers without a token and in every mode.
func TestHealthz(t *testing.T) {
	r := newRepo(t)
	auth, _, _, _ := tokens(t, false)
	dir := t.TempDir()
	makeRepos(t, dir, "a")
	for name, base := range map[string]string{
		"single": serve(t, r, server.Options{Auth: auth}),
		"multi":  serve(t, nil, server.Options{Auth: auth, Repos: rootOf(t, dir)}),
	} {
		got := call(t, http.MethodGet, base+"healthz", nil)
		if got.status != http.StatusOK || string(got.body) != "ok\n" {
			t.Errorf("%s: /healthz gave %d %q", name, got.status, got.body)
		}
	}
}

// makeRepos creates repositories under dir, each with a document "name"
// holding its name, and closes them so a server can open them.
func makeRepos(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		r, err := repo.Init(context.Background(), filepath.Join(dir, name), "", repo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		commitDocs(t, r, mainRef, map[string]string{"name": name}, t0)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// rootOf serves every repository under dir, and closes them at the end.
func rootOf(t *testing.T, dir string) server.Repos {
	t.Helper()
	repos := server.Root(dir, func(ctx context.Context, dir string) (*repo.Repo, error) {
		return repo.Open(ctx, dir, repo.Options{})
	}, server.RootOptions{})
	t.Cleanup(func() { repos.Close() })
	return repos
}

// Save writes a new owner-only file: a symlink planted where it used to
// write its temporary file, or an auth file left readable by all, is
// replaced, never written through.
func TestAuthSaveWritesANewFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.json")
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"tokens": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	auth := &server.Auth{}
	if _, err := auth.AddToken("ci", server.ScopeReadWrite, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := auth.Save(path); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(victim); err != nil || string(data) != "precious\n" {
		t.Errorf("the file a planted symlink named now holds %q, %v", data, err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode() != 0o600 {
		t.Errorf("the auth file is %v, %v; want a regular file of mode 0600", fi.Mode(), err)
	}
}
