package server_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// Without tokens, the store API answers this machine only (the document
// API and the protocol answer anyone who reaches the address, as before);
// auth files hold no admin tokens.
func TestStoreAPIWithoutAuthIsLocal(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	h := server.New(server.Options{Repos: server.Single(r)})
	for _, tc := range []struct {
		remote, path string
		want         int
	}{
		{"127.0.0.1:5000", wire.PathStoreRefs, http.StatusOK},
		{"[::1]:5000", wire.PathStoreRefs, http.StatusOK},
		{"192.0.2.7:5000", wire.PathStoreRefs, http.StatusForbidden},
		{"192.0.2.7:5000", wire.PathStoreStats, http.StatusForbidden},
		{"192.0.2.7:5000", wire.PathRefs, http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodGet, "/"+tc.path, nil)
		req.RemoteAddr, req.Host = tc.remote, "127.0.0.1:7420" // as folio's commands send it
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("GET %s from %s: HTTP %d, want %d", tc.path, tc.remote, rec.Code, tc.want)
		}
	}
	if _, err := (&server.Auth{}).AddToken("x", server.ScopeAdmin, nil, time.Time{}); err == nil {
		t.Error("AddToken made an admin token, which an auth file would then hold")
	}
	auth := &server.Auth{}
	if _, err := auth.AddAdminToken("local-admin/x", nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "auth.json")
	if err := auth.Save(path); err != nil {
		t.Fatal(err)
	}
	if saved, err := server.LoadAuth(path); err != nil || len(saved.Tokens) != 0 {
		t.Errorf("the saved auth file holds %+v, %v; want no admin token", saved, err)
	}
}
