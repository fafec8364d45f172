package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo/repotest"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Every write through the API is one commit on the branch, with the
// document's blob ID as its ETag; reads return the content, the ETag and
// the commit read.
func TestPutGetDeleteAreCommits(t *testing.T) {
	r := newRepo(t)
	base := serve(t, r, server.Options{})
	doc := base + wire.PathDocs + "/users/ada.json"

	put := call(t, http.MethodPut, doc, []byte(`{"name": "Ada"}`),
		"X-Folio-Author", "Ada Lovelace <ada@example.com>", "X-Folio-Message", "add ada")
	expect(t, "first put", put, http.StatusCreated, "")
	first := decodeWrite(t, put)
	if put.header.Get("ETag") != etagOf(`{"name": "Ada"}`) || first.ID == nil || `"`+first.ID.String()+`"` != put.header.Get("ETag") {
		t.Errorf("put: ETag %s, id %v, want the blob ID %s", put.header.Get("ETag"), first.ID, etagOf(`{"name": "Ada"}`))
	}
	if headOf(t, r, mainRef) != first.Commit {
		t.Fatalf("the branch is at %s, the put reported commit %s", headOf(t, r, mainRef).Short(), first.Commit.Short())
	}

	get := call(t, http.MethodGet, doc, nil)
	expect(t, "get", get, http.StatusOK, "")
	if string(get.body) != `{"name": "Ada"}` || get.header.Get("ETag") != put.header.Get("ETag") ||
		get.header.Get("X-Folio-Commit") != first.Commit.String() || get.header.Get("X-Folio-Kind") != "json" {
		t.Errorf("get: body %s, headers %v", get.body, get.header)
	}
	if get.header.Get("X-Folio-Conflict") != "" {
		t.Error("a document without a conflict is reported conflicted")
	}

	put2 := call(t, http.MethodPut, doc, []byte(`{"name": "Ada", "born": 1815}`))
	expect(t, "second put", put2, http.StatusOK, "")
	second := decodeWrite(t, put2)
	del := call(t, http.MethodDelete, doc, nil)
	expect(t, "delete", del, http.StatusOK, "")
	third := decodeWrite(t, del)
	expect(t, "get after delete", call(t, http.MethodGet, doc, nil), http.StatusNotFound, "not_found")
	expect(t, "delete again", call(t, http.MethodDelete, doc, nil), http.StatusNotFound, "not_found")

	log := logOf(t, base, "main", 0)
	if len(log) != 3 {
		t.Fatalf("log has %d commits, want 3 (one per write): %+v", len(log), log)
	}
	wantIDs := []objects.ID{third.Commit, second.Commit, first.Commit}
	wantMsgs := []string{"delete users/ada.json", "put users/ada.json", "add ada"}
	for i, c := range log {
		if c.ID != wantIDs[i] || c.Message != wantMsgs[i] {
			t.Errorf("log[%d] = %s %q, want %s %q", i, c.ID.Short(), c.Message, wantIDs[i].Short(), wantMsgs[i])
		}
		if i+1 < len(log) && (len(c.Parents) != 1 || c.Parents[0] != log[i+1].ID) {
			t.Errorf("log[%d] has parents %v, want the previous write", i, c.Parents)
		}
	}
	if log[2].Author.Name != "Ada Lovelace" || log[2].Author.Email != "ada@example.com" {
		t.Errorf("X-Folio-Author not used: %+v", log[2].Author)
	}
	if log[1].Author.Name == "" {
		t.Error("a write without X-Folio-Author has no author")
	}
	if headOf(t, r, mainRef) != third.Commit {
		t.Error("the branch is not at the last write")
	}
	if _, ok := docAt(t, r, mainRef, "users/ada.json"); ok {
		t.Error("the deleted document is still in the repository")
	}
}

// ?branch= picks the branch; without it the server's current branch is
// used; a branch that does not exist is 404 for reads, a bad name 400.
func TestDocumentsOnBranches(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	c1 := commitDocs(t, r, mainRef, map[string]string{"a.txt": "on main\n"}, t0)
	if err := r.CreateBranch(ctx, "dev", c1); err != nil {
		t.Fatal(err)
	}
	base := serve(t, r, server.Options{})
	docs := base + wire.PathDocs

	expect(t, "put on dev", call(t, http.MethodPut, docs+"/a.txt?branch=dev", []byte("on dev\n")), http.StatusOK, "")
	if headOf(t, r, mainRef) != c1 {
		t.Fatal("a write to dev moved main")
	}
	if got := call(t, http.MethodGet, docs+"/a.txt", nil); string(got.body) != "on main\n" {
		t.Errorf("without ?branch: %q, want main's version", got.body)
	}
	if got := call(t, http.MethodGet, docs+"/a.txt?branch=dev", nil); string(got.body) != "on dev\n" {
		t.Errorf("?branch=dev: %q", got.body)
	}
	if got, _ := docAt(t, r, objects.BranchPrefix+"dev", "a.txt"); got != "on dev\n" {
		t.Errorf("the repository's dev has %q", got)
	}

	expect(t, "get on a missing branch", call(t, http.MethodGet, docs+"/a.txt?branch=nope", nil), http.StatusNotFound, "not_found")
	expect(t, "list a missing branch", call(t, http.MethodGet, docs+"?branch=nope", nil), http.StatusNotFound, "not_found")
	expect(t, "log of a missing branch", call(t, http.MethodGet, base+wire.PathLog+"?branch=nope", nil), http.StatusNotFound, "not_found")
	expect(t, "delete on a missing branch", call(t, http.MethodDelete, docs+"/a.txt?branch=nope", nil), http.StatusNotFound, "not_found")
	for _, bad := range []string{"a..b", "-x", "HEAD", "x.lock", "a%20b"} {
		expect(t, "get on branch "+bad, call(t, http.MethodGet, docs+"/a.txt?branch="+bad, nil), http.StatusBadRequest, "invalid_ref")
		expect(t, "put on branch "+bad, call(t, http.MethodPut, docs+"/a.txt?branch="+bad, []byte("x")), http.StatusBadRequest, "invalid_ref")
	}
	if refs, _ := r.Store().Refs(ctx, objects.BranchPrefix); len(refs) != 2 {
		t.Errorf("branches after refused writes: %v", refs)
	}
}

// A repository whose branch has no commit yet has no documents to read,
// and takes its first document as the branch's first commit.
func TestEmptyRepository(t *testing.T) {
	r := newRepo(t)
	base := serve(t, r, server.Options{})
	expect(t, "get", call(t, http.MethodGet, base+wire.PathDocs+"/a", nil), http.StatusNotFound, "not_found")
	expect(t, "list", call(t, http.MethodGet, base+wire.PathDocs, nil), http.StatusNotFound, "not_found")
	expect(t, "delete", call(t, http.MethodDelete, base+wire.PathDocs+"/a", nil), http.StatusNotFound, "not_found")
	if !headOf(t, r, mainRef).IsZero() {
		t.Fatal("a refused delete created the branch")
	}
	put := call(t, http.MethodPut, base+wire.PathDocs+"/a", []byte("first"))
	expect(t, "first put", put, http.StatusCreated, "")
	if log := logOf(t, base, "main", 0); len(log) != 1 || len(log[0].Parents) != 0 {
		t.Errorf("first commit: %+v", log)
	}
}

// If-Match names the version a write expects to replace: the current ETag
// succeeds, any other is 412 and changes nothing. If-None-Match: * writes
// only a document that does not exist.
func TestConditionalWrites(t *testing.T) {
	r := newRepo(t)
	base := serve(t, r, server.Options{})
	doc := base + wire.PathDocs + "/counter.json"

	created := call(t, http.MethodPut, doc, []byte(`{"n": 1}`), "If-None-Match", "*")
	expect(t, "create-only put of a new document", created, http.StatusCreated, "")
	v1 := created.header.Get("ETag")
	head := headOf(t, r, mainRef)
	expect(t, "create-only put of an existing document",
		call(t, http.MethodPut, doc, []byte(`{"n": 99}`), "If-None-Match", "*"), http.StatusPreconditionFailed, "precondition_failed")
	expect(t, "If-Match on a missing document",
		call(t, http.MethodPut, base+wire.PathDocs+"/other.json", []byte(`{}`), "If-Match", v1), http.StatusPreconditionFailed, "precondition_failed")
	expect(t, "If-Match: * on a missing document",
		call(t, http.MethodPut, base+wire.PathDocs+"/other.json", []byte(`{}`), "If-Match", "*"), http.StatusPreconditionFailed, "precondition_failed")
	if headOf(t, r, mainRef) != head {
		t.Fatal("refused writes moved the branch")
	}

	updated := call(t, http.MethodPut, doc, []byte(`{"n": 2}`), "If-Match", v1)
	expect(t, "put with the current ETag", updated, http.StatusOK, "")
	v2 := updated.header.Get("ETag")
	head = headOf(t, r, mainRef)

	for _, tc := range []struct {
		method, header, value string
	}{
		{http.MethodPut, "If-Match", v1},
		{http.MethodPut, "If-Match", `"` + objects.Hash([]byte("never")).String() + `"`},
		{http.MethodPut, "If-Match", "not-a-tag"},
		{http.MethodDelete, "If-Match", v1},
		{http.MethodPut, "If-None-Match", v2},
		{http.MethodDelete, "If-None-Match", "*"},
	} {
		got := call(t, tc.method, doc, []byte(`{"n": 3}`), tc.header, tc.value)
		expect(t, fmt.Sprintf("%s with %s: %s", tc.method, tc.header, tc.value), got, http.StatusPreconditionFailed, "precondition_failed")
	}
	if headOf(t, r, mainRef) != head {
		t.Fatal("writes with stale preconditions moved the branch")
	}
	if got, _ := docAt(t, r, mainRef, "counter.json"); got != `{"n": 2}` {
		t.Fatalf("document after refused writes: %s", got)
	}

	// A list of tags holding the current one, and *, name the current version.
	expect(t, "If-Match with a list", call(t, http.MethodPut, doc, []byte(`{"n": 3}`), "If-Match", v1+", "+v2), http.StatusOK, "")
	expect(t, "If-Match: *", call(t, http.MethodPut, doc, []byte(`{"n": 5}`), "If-Match", "*"), http.StatusOK, "")
	expect(t, "delete with the current ETag", call(t, http.MethodDelete, doc, nil, "If-Match", etagOf(`{"n": 5}`)), http.StatusOK, "")
	if _, ok := docAt(t, r, mainRef, "counter.json"); ok {
		t.Error("conditional delete left the document")
	}
}

// GET with If-None-Match naming the current version is 304 without a body;
// HEAD gives the headers of GET without the body.
func TestConditionalAndHeadReads(t *testing.T) {
	r := newRepo(t)
	commitDocs(t, r, mainRef, map[string]string{"a.txt": "hello\n"}, t0)
	doc := serve(t, r, server.Options{}) + wire.PathDocs + "/a.txt"

	got := call(t, http.MethodGet, doc, nil, "If-None-Match", etagOf("hello\n"))
	expect(t, "get with the current ETag", got, http.StatusNotModified, "")
	if len(got.body) != 0 || got.header.Get("ETag") != etagOf("hello\n") {
		t.Errorf("304: body %q, ETag %s", got.body, got.header.Get("ETag"))
	}
	expect(t, "get with an old ETag", call(t, http.MethodGet, doc, nil, "If-None-Match", etagOf("old\n")), http.StatusOK, "")
	head := call(t, http.MethodHead, doc, nil)
	expect(t, "head", head, http.StatusOK, "")
	if len(head.body) != 0 || head.header.Get("Content-Length") != "6" || head.header.Get("ETag") != etagOf("hello\n") {
		t.Errorf("head: body %q, headers %v", head.body, head.header)
	}
}

// Keys that break the key rules are 400 invalid_key for every method and
// commit nothing. Unescaped "." / ".." segments and "//" are cleaned by the
// HTTP layer first: the server answers with a redirect to the clean path
// and writes nothing itself.
func TestInvalidKeys(t *testing.T) {
	r := newRepo(t)
	c1 := commitDocs(t, r, mainRef, map[string]string{"a/b": "x"}, t0)
	base := serve(t, r, server.Options{})
	for _, key := range []string{
		"a%00b",                       // NUL
		"a%01b",                       // control character
		"a%7Fb",                       // DEL
		"%FF%FE",                      // not UTF-8
		strings.Repeat("k", 1025),     // too long
		strings.Repeat("%C3%A9", 513), // 1026 bytes of UTF-8
		"a%2F%2Fb",                    // empty segment, escaped
		"a%2F.%2Fb",                   // "." segment, escaped
		"%2e%2e",                      // ".." alone
		"x/%2e%2e/y",                  // ".." segment
		"x/%2E%2E%2Fy",                // ".." segment, mixed escapes
		"trailing%2F",                 // empty last segment, escaped
		"a/b/",                        // empty last segment
	} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			expect(t, fmt.Sprintf("%s %.40s", method, key), call(t, method, base+wire.PathDocs+"/"+key, []byte("x")),
				http.StatusBadRequest, "invalid_key")
		}
	}
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, key := range []string{"a//b", "a/./b", "a/../b"} {
		req, _ := http.NewRequest(http.MethodPut, base+wire.PathDocs+"/"+key, strings.NewReader("y"))
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 3 {
			t.Errorf("PUT %s: status %d, want a redirect to the clean path", key, resp.StatusCode)
		}
	}
	if headOf(t, r, mainRef) != c1 {
		t.Fatal("a write with an invalid key made a commit")
	}
}

// The content type follows the document's kind.
func TestContentTypeByKind(t *testing.T) {
	r := newRepo(t)
	base := serve(t, r, server.Options{})
	for _, tc := range []struct {
		key, content, kind, contentType string
	}{
		{"doc.json", `{"a": [1, 2]}`, "json", "application/json"},
		{"list.json", `[1, 2]`, "json", "application/json"},
		{"scalar.json", `42`, "text", "text/plain; charset=utf-8"},
		{"note.txt", "héllo\n", "text", "text/plain; charset=utf-8"},
		{"broken.json", `{"a": `, "text", "text/plain; charset=utf-8"},
		{"image.bin", "\x89PNG\x00\x01", "binary", "application/octet-stream"},
		{"latin1.txt", "caf\xe9", "binary", "application/octet-stream"},
	} {
		doc := base + wire.PathDocs + "/" + tc.key
		expect(t, "put "+tc.key, call(t, http.MethodPut, doc, []byte(tc.content)), http.StatusCreated, "")
		got := call(t, http.MethodGet, doc, nil)
		if string(got.body) != tc.content || got.header.Get("Content-Type") != tc.contentType || got.header.Get("X-Folio-Kind") != tc.kind {
			t.Errorf("%s: body %q, Content-Type %q, kind %q; want %q, %q", tc.key, got.body,
				got.header.Get("Content-Type"), got.header.Get("X-Folio-Kind"), tc.contentType, tc.kind)
		}
	}
}

// A document whose merge conflicted is read as the winner, with
// X-Folio-Conflict; writing it settles the conflict.
func TestConflictHeader(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	base := commitDocs(t, r, mainRef, map[string]string{"shared.json": `{"a": 1}`, "calm.txt": "calm\n"}, t0)
	if err := r.CreateBranch(ctx, "other", base); err != nil {
		t.Fatal(err)
	}
	ours := commitDocs(t, r, mainRef, map[string]string{"shared.json": `{"a": 2}`}, t0.Add(time.Minute))
	theirs := commitDocs(t, r, objects.BranchPrefix+"other", map[string]string{"shared.json": `{"a": 3}`}, t0.Add(2*time.Minute))
	merged, res, err := merge.Converge(ctx, r, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conflicted) != 1 {
		t.Fatalf("want one conflict, got %+v", res.Conflicted)
	}
	if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: mainRef, Old: ours, New: merged}); err != nil {
		t.Fatal(err)
	}
	docs := serve(t, r, server.Options{}) + wire.PathDocs

	got := call(t, http.MethodGet, docs+"/shared.json", nil)
	expect(t, "get the conflicted document", got, http.StatusOK, "")
	if got.header.Get("X-Folio-Conflict") != "true" || string(got.body) != `{"a": 3}` {
		t.Errorf("conflicted document: body %s, X-Folio-Conflict %q (want the later side and true)", got.body, got.header.Get("X-Folio-Conflict"))
	}
	if h := call(t, http.MethodGet, docs+"/calm.txt", nil).header.Get("X-Folio-Conflict"); h != "" {
		t.Errorf("a clean document has X-Folio-Conflict %q", h)
	}
	expect(t, "settle", call(t, http.MethodPut, docs+"/shared.json", []byte(`{"a": 4}`), "If-Match", got.header.Get("ETag")), http.StatusOK, "")
	if h := call(t, http.MethodGet, docs+"/shared.json", nil).header.Get("X-Folio-Conflict"); h != "" {
		t.Errorf("after a write the conflict is still reported: %q", h)
	}
}

// The document API writes no key with a .git or .folio segment (any case):
// 400 invalid_key naming the key, no commit. Such a key stored before the
// rule can still be read and deleted.
func TestDocAPIRefusesReservedKeys(t *testing.T) {
	r := newRepo(t)
	c1, err := repotest.CommitLegacy(context.Background(), r, mainRef, map[string]string{".git/config": "old"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, r, server.Options{})
	for _, key := range []string{".git/config", ".GIT/hooks/pre-commit", "a/.folio/db/MANIFEST", "%2Egit/config", ".Folio."} {
		got := call(t, http.MethodPut, base+wire.PathDocs+"/"+key, []byte("[core]\n\tfsmonitor = touch pwned\n"))
		expect(t, "PUT "+key, got, http.StatusBadRequest, "invalid_key")
		if want := strings.ReplaceAll(key, "%2E", "."); !strings.Contains(string(got.body), want) {
			t.Errorf("PUT %s: the error does not name the key: %s", key, got.body)
		}
	}
	if headOf(t, r, mainRef) != c1 {
		t.Fatal("a write with a reserved key made a commit")
	}
	expect(t, "GET a legacy key", call(t, http.MethodGet, base+wire.PathDocs+"/.git/config", nil), http.StatusOK, "")
	expect(t, "DELETE a legacy key", call(t, http.MethodDelete, base+wire.PathDocs+"/.git/config", nil), http.StatusOK, "")
	if _, ok := docAt(t, r, mainRef, ".git/config"); ok {
		t.Error("the legacy key is still there after DELETE")
	}
}
