package server_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/server"
)

// A write to a branch that does not exist is refused (a typo must not
// start a new history), but the current branch may get its first commit.
func TestWriteToMissingBranch(t *testing.T) {
	r := newRepo(t)
	base := serve(t, r, server.Options{})
	expect(t, "PUT on a missing branch", call(t, http.MethodPut, base+"v1/docs/a.txt?branch=typo", []byte("a")), http.StatusNotFound, "not_found")
	if _, err := r.Store().Ref(t.Context(), objects.BranchPrefix+"typo"); err == nil {
		t.Fatal("the refused write created the branch")
	}
	expect(t, "first PUT on the current branch", call(t, http.MethodPut, base+"v1/docs/a.txt", []byte("a")), http.StatusCreated, "")
}

// If-Match compares strongly (RFC 9110): a weak tag never matches.
func TestIfMatchIsStrong(t *testing.T) {
	r := newRepo(t)
	base := serve(t, r, server.Options{})
	w := call(t, http.MethodPut, base+"v1/docs/a.txt", []byte("a"))
	expect(t, "create", w, http.StatusCreated, "")
	tag := w.header.Get("ETag")
	expect(t, "weak If-Match", call(t, http.MethodPut, base+"v1/docs/a.txt", []byte("b"), "If-Match", "W/"+tag), http.StatusPreconditionFailed, "precondition_failed")
	expect(t, "strong If-Match", call(t, http.MethodPut, base+"v1/docs/a.txt", []byte("b"), "If-Match", tag), http.StatusOK, "")
	expect(t, "weak If-None-Match on GET", call(t, http.MethodGet, base+"v1/docs/a.txt", nil, "If-None-Match", "W/"+etagOf("b")), http.StatusNotModified, "")
}

// On a server of one repository, a token limited to repositories by name
// works when it names the repository's folder, and only then.
func TestTokenLimitedToTheSingleRepository(t *testing.T) {
	r := newRepo(t)
	name := filepath.Base(filepath.Dir(r.Dir()))
	auth := &server.Auth{}
	mine, _ := auth.AddToken("mine", server.ScopeRead, []string{name})
	other, _ := auth.AddToken("other", server.ScopeRead, []string{"elsewhere"})
	base := serve(t, r, server.Options{Auth: auth})
	expect(t, "token for this repository", call(t, http.MethodGet, base+"v1/refs", nil, "Authorization", "Bearer "+mine), http.StatusOK, "")
	expect(t, "token for another", call(t, http.MethodGet, base+"v1/refs", nil, "Authorization", "Bearer "+other), http.StatusForbidden, "forbidden")
}
