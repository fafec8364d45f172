package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// storeEndpoints are every route of the store API, with a body each
// accepts.
var storeEndpoints = []struct {
	method, path string
	body         []byte
}{
	{http.MethodGet, wire.PathStoreRef + "?name=refs/heads/main", nil},
	{http.MethodGet, wire.PathStoreRefs, nil},
	{http.MethodGet, wire.PathStoreObject + "/" + "0000000000000000000000000000000000000000000000000000000000000000", nil},
	{http.MethodPost, wire.PathStoreHas, []byte(`{"ids": []}`)},
	{http.MethodGet, wire.PathStoreObjects + "?prefix=ff", nil},
	{http.MethodPost, wire.PathStoreApply, []byte{}},
	{http.MethodPost, wire.PathStoreGC, []byte(`{"dry_run": true}`)},
	{http.MethodPost, wire.PathStoreFsck, nil},
	{http.MethodGet, wire.PathStoreStats, nil},
}

// With tokens, only folio serve's own admin token opens the store API: not
// a read or read-write token, not an expired one, not none (even with
// anonymous reads), whatever the request says of where it comes from.
func TestStoreAPIRefusesOtherTokens(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	auth, read, write, _ := tokens(t, true)
	expired, err := auth.AddToken("expired", server.ScopeReadWrite, nil, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := auth.AddAdminToken("local-admin/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, r, server.Options{Auth: auth})
	for _, ep := range storeEndpoints {
		for _, tc := range []struct {
			who, token string
			want       int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"read", read, http.StatusForbidden},
			{"read-write", write, http.StatusForbidden},
			{"expired", expired, http.StatusUnauthorized},
			{"unknown", otherToken(admin), http.StatusUnauthorized},
		} {
			headers := []string{"X-Forwarded-For", "127.0.0.1", "Host", "127.0.0.1"}
			if tc.token != "" {
				headers = append(headers, "Authorization", "Bearer "+tc.token)
			}
			got := call(t, ep.method, base+ep.path, ep.body, headers...)
			if got.status != tc.want {
				t.Errorf("%s %s with %s: HTTP %d, want %d (%s)", ep.method, ep.path, tc.who, got.status, tc.want, got.body)
			}
		}
	}
	got := call(t, http.MethodGet, base+wire.PathStoreRefs, nil, "Authorization", "Bearer "+admin)
	expect(t, "refs with the admin token", got, http.StatusOK, "")
}

// Without tokens the store API answers this machine only. A request that
// reaches the loopback address but is not from a local command is refused
// too: one a proxy on this machine forwards (Forwarded, X-Forwarded-For),
// one a web page makes (an Origin: a page's script reaching 127.0.0.1), or
// one for another host name (DNS rebinding: a page of evil.example whose
// name now resolves to 127.0.0.1 reads what it fetches).
func TestStoreAPIWithoutAuthRefusesForwardedAndBrowserRequests(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	base := serve(t, r, server.Options{})
	for _, ep := range storeEndpoints {
		for _, headers := range [][]string{
			{"X-Forwarded-For", "203.0.113.9"},
			{"Forwarded", "for=203.0.113.9"},
			{"X-Real-Ip", "203.0.113.9"},
			{"Origin", "http://evil.example"},
			{"Origin", "null"},
			{"Host", "evil.example:7420"},
			{"Host", "localhost.evil.example"},
		} {
			got := call(t, ep.method, base+ep.path, ep.body, headers...)
			if got.status != http.StatusForbidden {
				t.Errorf("%s %s with %s: %s: HTTP %d, want 403 (%s)", ep.method, ep.path, headers[0], headers[1], got.status, got.body)
			}
		}
	}
	for _, host := range []string{"", "localhost:7420", "[::1]:7420", "127.0.0.1"} {
		var headers []string
		if host != "" {
			headers = []string{"Host", host}
		}
		got := call(t, http.MethodGet, base+wire.PathStoreRefs, nil, headers...)
		expect(t, "refs from a local command, Host "+host, got, http.StatusOK, "")
	}
	// The document API is not the store API: it answers as before.
	got := call(t, http.MethodGet, base+wire.PathRefs, nil, "X-Forwarded-For", "203.0.113.9")
	expect(t, "protocol refs through a proxy", got, http.StatusOK, "")
}

// otherToken is token with one character changed.
func otherToken(token string) string {
	b := []byte(token)
	if b[10] == 'A' {
		b[10] = 'B'
	} else {
		b[10] = 'A'
	}
	return string(b)
}
