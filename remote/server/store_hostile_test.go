package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
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
	{http.MethodGet, wire.PathStoreCheckedRefs, nil},
	{http.MethodPost, wire.PathStoreDropDamagedRef, []byte(`{"name": "cmVmcy9oZWFkcy9tYWlu"}`)},
	{http.MethodGet, wire.PathStoreObject + "/" + "0000000000000000000000000000000000000000000000000000000000000000", nil},
	{http.MethodPost, wire.PathStoreHas, []byte(`{"ids": []}`)},
	{http.MethodPost, wire.PathStoreTypes, []byte(`{"ids": []}`)},
	{http.MethodGet, wire.PathStoreObjects + "?prefix=ff", nil},
	{http.MethodPost, wire.PathStoreSend, []byte(`{"wants": []}`)},
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
	expectAdmin(t, base, admin, "refs with the admin token")
}

// expectAdmin checks that the admin token opens the store API.
func expectAdmin(t *testing.T, base, admin, what string) {
	t.Helper()
	got := call(t, http.MethodGet, base+wire.PathStoreRefs, nil, "Authorization", "Bearer "+admin)
	expect(t, what, got, http.StatusOK, "")
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

// applyRaw sends a store apply as an attacker would write it, bypassing
// client.Store's checks: the updates, then objs as a pack.
func applyRaw(t *testing.T, base string, updates []wire.RefUpdate, objs ...objects.Object) reply {
	t.Helper()
	var body bytes.Buffer
	if err := wire.WriteFrame(&body, wire.StoreApply{Updates: updates}); err != nil {
		t.Fatal(err)
	}
	pw := wire.NewPackWriter(&body, wire.WriterOptions{})
	for _, o := range objs {
		if err := pw.Write(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	return call(t, http.MethodPost, base+wire.PathStoreApply, body.Bytes(), "Content-Type", wire.ContentFramed)
}

// Hostile applies are refused whole: nothing they carry is stored and no
// ref moves.
func TestStoreApplyRefusesHostilePayloads(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	c1 := commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	base := serve(t, r, server.Options{})
	ctx := context.Background()
	commit, err := r.ReadCommit(ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	blob := objects.EncodeBlob([]byte("hostile blob"))
	garbage := []byte("FOLIO not an object at all")
	malformed := objects.Object{ID: objects.Hash(garbage), Data: garbage}
	lying := *commit
	lying.Height = 7 // its parents say 1
	lying.Message = "lies about its height"
	liar := lying.Encode()
	ws := (&objects.WorkingSet{Base: c1, Index: commit.Index}).Encode()
	missing := objects.EncodeBlob([]byte("never sent")).ID
	wsRef := objects.WorkingSetPrefix + mainRef
	for _, tc := range []struct {
		name    string
		updates []wire.RefUpdate
		objs    []objects.Object
	}{
		{"a malformed object that hashes right", []wire.RefUpdate{{Name: "refs/heads/x", New: c1}}, []objects.Object{blob, malformed}},
		{"a commit lying about its height", []wire.RefUpdate{{Name: "refs/heads/x", New: liar.ID}}, []objects.Object{blob, liar}},
		{"a ref at an object never sent", []wire.RefUpdate{{Name: "refs/heads/x", New: missing}}, []objects.Object{blob}},
		{"a branch at a blob", []wire.RefUpdate{{Name: "refs/heads/x", New: blob.ID}}, []objects.Object{blob}},
		{"a branch at a working set", []wire.RefUpdate{{Name: "refs/heads/x", New: ws.ID}}, []objects.Object{blob, ws}},
		{"a working-set ref at a commit", []wire.RefUpdate{{Name: wsRef, New: c1}}, []objects.Object{blob}},
		{"a ref named with ..", []wire.RefUpdate{{Name: "refs/heads/../x", New: c1}}, []objects.Object{blob}},
		{"a ref named with a control character", []wire.RefUpdate{{Name: "refs/heads/x\x1b[2J", New: c1}}, []objects.Object{blob}},
		{"a ref name too long", []wire.RefUpdate{{Name: "refs/heads/" + strings.Repeat("x", objects.MaxRefLen), New: c1}}, []objects.Object{blob}},
		{"one ref updated twice", []wire.RefUpdate{{Name: "refs/heads/x", New: c1}, {Name: "refs/heads/x", New: c1}}, []objects.Object{blob}},
		{"a stale compare-and-swap", []wire.RefUpdate{{Name: mainRef, Old: missing, New: c1}, {Name: "refs/heads/x", New: c1}}, []objects.Object{blob}},
	} {
		got := applyRaw(t, base, tc.updates, tc.objs...)
		if got.status/100 != 4 {
			t.Errorf("%s: HTTP %d, want a 4xx refusal (%s)", tc.name, got.status, got.body)
		}
		if s := stored(t, r, []objects.Object{blob, ws, liar}); len(s) != 0 {
			t.Errorf("%s: the refused apply stored %v", tc.name, s)
		}
		refs, err := r.Store().Refs(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) != 1 || refs[0].Name != mainRef || refs[0].ID != c1 {
			t.Errorf("%s: refs are now %v", tc.name, refs)
		}
	}
	// More refs than one Badger transaction holds (a fetch of many tags
	// into a served repository): all move, through the store's journal.
	many := make([]wire.RefUpdate, 30000)
	for i := range many {
		many[i] = wire.RefUpdate{Name: fmt.Sprintf("refs/tags/t%06d", i), New: c1}
	}
	expect(t, "30000 updates", applyRaw(t, base, many, blob), http.StatusOK, "")
	if tags, err := r.Store().Refs(ctx, objects.TagPrefix); err != nil || len(tags) != len(many) {
		t.Errorf("%d tags after the apply (%v), want %d", len(tags), err, len(many))
	}
	fsckClean(t, r)
}

// A gc through the store API runs while the server writes: a document
// write has stored its document and not yet committed it (the document
// API writes the blob, then commits under the repository's lock). A grace
// period shorter than a write in the server may take would delete that
// document from under the commit, so the server refuses it (a dry run,
// which deletes nothing, may use any).
func TestStoreGCKeepsWritesInFlight(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	base := serve(t, r, server.Options{})
	ctx := context.Background()
	entry, err := r.WriteDocumentBytes(ctx, []byte("written, not committed yet"))
	if err != nil {
		t.Fatal(err)
	}
	dry := call(t, http.MethodPost, base+wire.PathStoreGC, []byte(`{"grace_ns": 0, "dry_run": true, "found": true}`))
	expect(t, "a dry gc --prune=now", dry, http.StatusOK, "")
	if !bytes.Contains(dry.body, []byte(entry.ID.String())) {
		t.Errorf("the dry run does not list the uncommitted document:\n%s", dry.body)
	}
	got := call(t, http.MethodPost, base+wire.PathStoreGC, []byte(`{"grace_ns": 0}`))
	if got.status == http.StatusOK && !bytes.Contains(got.body, []byte(`"error"`)) {
		t.Errorf("gc --prune=now through the server ran: %s", got.body)
	}
	if _, err := r.CommitEdits(ctx, mainRef, []repo.Edit{{Key: "b", Entry: entry}}, repo.CommitOptions{Message: "b", Time: t0.Add(time.Second),
		Author: objects.Signature{Name: "t", Email: "t@example.com"}}, nil); err != nil {
		t.Fatal(err)
	}
	fsckClean(t, r)
	long := fmt.Sprintf(`{"grace_ns": %d}`, server.DefaultLimits.TransferTimeout)
	expect(t, "gc with a grace of a transfer", call(t, http.MethodPost, base+wire.PathStoreGC, []byte(long)), http.StatusOK, "")
	fsckClean(t, r)
}

// The names of folio serve's admin tokens are its own: an auth file token
// of that name (added while serving) would replace the admin token at the
// next reload and lock the served CLI out.
func TestAdminTokenNamesAreReserved(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	path := filepath.Join(t.TempDir(), "auth.json")
	file := &server.Auth{}
	if _, err := file.AddToken("ci", server.ScopeReadWrite, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := file.Save(path); err != nil {
		t.Fatal(err)
	}
	auth, err := server.LoadAuth(path)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := auth.AddAdminToken(server.AdminTokenPrefix+"x", nil)
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, r, server.Options{Auth: auth})
	if _, err := file.AddToken(server.AdminTokenPrefix+"x", server.ScopeReadWrite, nil, time.Time{}); err == nil {
		// A file edited by hand can still hold one: the server keeps its
		// tokens as they were rather than read it.
		t.Error("AddToken took an admin token's name")
	}
	data := fmt.Sprintf(`{"tokens": [{"name": %q, "hash": %q, "scope": "read-write", "repos": ["*"]}]}`,
		server.AdminTokenPrefix+"x", server.HashToken("folio_other"))
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	expectAdmin(t, base, admin, "the admin token after the auth file named one of its own")
}

// An apply keeps the objects its refs do not reach (the CLI's big writes
// go ahead of their commit), and a later apply's checks trust what is
// stored. So a leaf with a key no write could make (.git/hooks/...: an
// export would plant a git hook) must be refused when it arrives, not
// only when a ref in the same apply reaches it.
func TestStoreApplyChecksKeysOfUnreachedLeaves(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	base := serve(t, r, server.Options{})
	script := []byte("#!/bin/sh\necho pwned\n")
	blob := objects.EncodeBlob(script)
	leaf := (&objects.Node{Items: []objects.NodeItem{{Key: ".git/hooks/post-checkout",
		Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: uint64(len(script))}}}}).Encode()
	expect(t, "the leaf alone", applyRaw(t, base, nil, blob, leaf), http.StatusBadRequest, "invalid_key")
	now := time.Now().UTC()
	c := (&objects.Commit{Index: leaf.ID, Height: 1, Author: objects.Signature{Name: "m", Email: "m@example.com"},
		Time: now, CommitTime: now, Message: "hook"}).Encode()
	got := applyRaw(t, base, []wire.RefUpdate{{Name: "refs/heads/hook", New: c.ID}}, c)
	if got.status == http.StatusOK {
		t.Errorf("a branch now names a commit with the key .git/hooks/post-checkout")
	}
	if s := stored(t, r, []objects.Object{leaf, c}); len(s) != 0 {
		t.Errorf("stored: %v", s)
	}
}
