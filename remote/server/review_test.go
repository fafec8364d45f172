package server_test

import (
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
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
	mine, _ := auth.AddToken("mine", server.ScopeRead, []string{name}, time.Time{})
	other, _ := auth.AddToken("other", server.ScopeRead, []string{"elsewhere"}, time.Time{})
	base := serve(t, r, server.Options{Auth: auth})
	expect(t, "token for this repository", call(t, http.MethodGet, base+"v1/refs", nil, "Authorization", "Bearer "+mine), http.StatusOK, "")
	expect(t, "token for another", call(t, http.MethodGet, base+"v1/refs", nil, "Authorization", "Bearer "+other), http.StatusForbidden, "forbidden")
}

// Deleting a branch or tag by push needs force, and the server's current
// branch cannot be deleted at all.
func TestPushDeletes(t *testing.T) {
	ctx := t.Context()
	r := newRepo(t)
	id := commitDocs(t, r, objects.BranchPrefix+"main", map[string]string{"a": "a"}, testClock()())
	r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: objects.BranchPrefix + "old", New: id})
	c, err := client.New(serve(t, r, server.Options{}), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	del := func(name string, force bool) error {
		_, err := c.Push(ctx, wire.PushRequest{Updates: []wire.RefUpdate{{Name: name, Old: id}}, Force: force},
			func(*wire.PackWriter) error { return nil })
		return err
	}
	if err := del(objects.BranchPrefix+"old", false); !errors.Is(err, wire.ErrNonFastForward) {
		t.Errorf("delete without force: %v", err)
	}
	if err := del(objects.BranchPrefix+"main", true); !errors.Is(err, wire.ErrBadRequest) {
		t.Errorf("delete of the current branch: %v", err)
	}
	if err := del(objects.BranchPrefix+"old", true); err != nil {
		t.Errorf("forced delete: %v", err)
	}
	if _, err := r.Store().Ref(ctx, objects.BranchPrefix+"main"); err != nil {
		t.Errorf("main is gone: %v", err)
	}
}
