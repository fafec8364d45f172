package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// v1/has (asked by a sync's push) answers readers only, refuses a body
// that is not StoreIDs or asks about more than MaxObjectsRequest IDs, and
// says truly which objects the repository holds.
func TestHasRefusesBadRequests(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	c1 := commitDocs(t, r, mainRef, map[string]string{"a.txt": "a\n"}, t0)
	auth := &server.Auth{}
	read, err := auth.AddToken("reader", server.ScopeRead, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := auth.AddToken("other", server.ScopeRead, []string{"elsewhere"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	u := serve(t, r, server.Options{Auth: auth}) + wire.PathHas
	missing := objects.Hash([]byte("not stored"))
	body, _ := json.Marshal(wire.StoreIDs{IDs: []objects.ID{c1, missing}})

	expect(t, "no token", call(t, http.MethodPost, u, body), http.StatusUnauthorized, "unauthorized")
	expect(t, "a token for another repository", call(t, http.MethodPost, u, body, bearer(other)...), http.StatusForbidden, "forbidden")
	for what, bad := range map[string]string{
		"not JSON":    "{ids:",
		"a bad ID":    `{"ids":["xyz"]}`,
		"a short ID":  `{"ids":["` + strings.Repeat("ab", 10) + `"]}`,
		"not a list":  `{"ids":"` + c1.String() + `"}`,
		"too many ID": `{"ids":[` + strings.TrimSuffix(strings.Repeat(`"`+c1.String()+`",`, wire.MaxObjectsRequest+1), ",") + `]}`,
	} {
		got := call(t, http.MethodPost, u, []byte(bad), bearer(read)...)
		if got.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400 (%s)", what, got.status, got.body[:min(len(got.body), 200)])
		}
	}
	got := call(t, http.MethodPost, u, body, bearer(read)...)
	expect(t, "a read token", got, http.StatusOK, "")
	var has wire.StoreHas
	if err := json.Unmarshal(got.body, &has); err != nil {
		t.Fatal(err)
	}
	if len(has.Has) != 2 || !has.Has[0] || has.Has[1] {
		t.Errorf("has %v, want [true false]", has.Has)
	}
}
