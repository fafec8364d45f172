package server_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// The auth scheme is matched without regard to case (RFC 9110): "bearer"
// and "BEARER" work like "Bearer"; other schemes do not.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	auth, read, _, _ := tokens(t, false)
	refs := serve(t, r, server.Options{Auth: auth}) + wire.PathRefs
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		expect(t, scheme, call(t, http.MethodGet, refs, nil, "Authorization", scheme+" "+read), http.StatusOK, "")
	}
	expect(t, "Basic", call(t, http.MethodGet, refs, nil, "Authorization", "Basic "+read), http.StatusUnauthorized, "unauthorized")
}

// Token names are unique and not empty; a removed token is refused from
// the next request; an expired token is refused.
func TestTokenNamesRemovalAndExpiry(t *testing.T) {
	t.Parallel()
	auth := &server.Auth{}
	if _, err := auth.AddToken("ci", server.ScopeRead, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ci", "", "  "} {
		if _, err := auth.AddToken(name, server.ScopeRead, nil, time.Time{}); !errors.Is(err, server.ErrTokenName) {
			t.Errorf("AddToken(%q): %v, want ErrTokenName", name, err)
		}
	}
	r := newRepo(t)
	commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	old, _ := auth.AddToken("old", server.ScopeRead, nil, time.Now().Add(-time.Minute))
	gone, _ := auth.AddToken("gone", server.ScopeRead, nil, time.Now().Add(time.Hour))
	refs := serve(t, r, server.Options{Auth: auth}) + wire.PathRefs
	expect(t, "expired", call(t, http.MethodGet, refs, nil, bearer(old)...), http.StatusUnauthorized, "unauthorized")
	expect(t, "not yet expired", call(t, http.MethodGet, refs, nil, bearer(gone)...), http.StatusOK, "")
	if err := auth.RemoveToken("gone"); err != nil {
		t.Fatal(err)
	}
	expect(t, "removed", call(t, http.MethodGet, refs, nil, bearer(gone)...), http.StatusUnauthorized, "unauthorized")
	if err := auth.RemoveToken("gone"); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("removing a missing token: %v, want not found", err)
	}
}

// A server picks up tokens added to and removed from its auth file while
// it runs, and keeps the tokens it added in memory.
func TestAuthFileChangesTakeEffect(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "auth.json")
	cli := func(change func(*server.Auth)) {
		a, err := server.LoadOrNewAuth(path)
		if err != nil {
			t.Fatal(err)
		}
		change(a)
		if err := a.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	var first string
	cli(func(a *server.Auth) { first, _ = a.AddToken("first", server.ScopeRead, nil, time.Time{}) })
	auth, err := server.LoadAuth(path)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := auth.AddToken("local-admin", server.ScopeRead, nil, time.Time{})
	r := newRepo(t)
	commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	refs := serve(t, r, server.Options{Auth: auth}) + wire.PathRefs
	expect(t, "first", call(t, http.MethodGet, refs, nil, bearer(first)...), http.StatusOK, "")

	var second string
	cli(func(a *server.Auth) { second, _ = a.AddToken("second", server.ScopeRead, nil, time.Time{}) })
	expect(t, "a token added while serving", call(t, http.MethodGet, refs, nil, bearer(second)...), http.StatusOK, "")
	cli(func(a *server.Auth) { a.RemoveToken("first") })
	expect(t, "a token removed while serving", call(t, http.MethodGet, refs, nil, bearer(first)...), http.StatusUnauthorized, "unauthorized")
	expect(t, "the in-memory token", call(t, http.MethodGet, refs, nil, bearer(local)...), http.StatusOK, "")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	expect(t, "a broken auth file keeps the tokens", call(t, http.MethodGet, refs, nil, bearer(second)...), http.StatusOK, "")
}

// A document write records the writing token's name as the commit's
// committer, whatever X-Folio-Author claims (that stays the author): any
// writer can name an author, but not hide which token wrote. Without auth
// there is no token and no committer.
func TestDocWriteRecordsTokenAsCommitter(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	auth, read, write, _ := tokens(t, false)
	base := serve(t, r, server.Options{Auth: auth})
	put := call(t, http.MethodPut, base+wire.PathDocs+"/b", []byte("b"),
		append(bearer(write), "X-Folio-Author", "Ada Lovelace <ada@example.com>")...)
	expect(t, "put as writer", put, http.StatusCreated, "")
	head := decodeWrite(t, put).Commit
	c, err := r.ReadCommit(t.Context(), head)
	if err != nil {
		t.Fatal(err)
	}
	if c.Author.Name != "Ada Lovelace" || c.Committer.Name != "writer" {
		t.Errorf("author %v, committer %v; want Ada Lovelace and the token writer", c.Author, c.Committer)
	}
	log := logOf(t, base, "main", 1, bearer(read)...)
	if log[0].Committer == nil || log[0].Committer.Name != "writer" {
		t.Errorf("the log does not show the committer: %+v", log[0])
	}

	open := newRepo(t)
	commitDocs(t, open, mainRef, map[string]string{"a": "a"}, t0)
	put = call(t, http.MethodPut, serve(t, open, server.Options{})+wire.PathDocs+"/b", []byte("b"))
	expect(t, "put without auth", put, http.StatusCreated, "")
	if c, err := open.ReadCommit(t.Context(), decodeWrite(t, put).Commit); err != nil || c.Committer != (objects.Signature{}) {
		t.Errorf("without auth: committer %v (%v), want none", c.Committer, err)
	}
}
