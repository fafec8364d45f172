package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

type listing struct {
	Commit objects.ID `json:"commit"`
	Docs   []struct {
		Key  string     `json:"key"`
		ID   objects.ID `json:"id"`
		Kind string     `json:"kind"`
		Size uint64     `json:"size"`
	} `json:"docs"`
	Next string `json:"next"`
}

// walkListing follows ?after= from page to page and returns every key and
// the number of pages.
func walkListing(t *testing.T, base string, params url.Values, wantCommit objects.ID, want map[string]string) ([]string, int) {
	t.Helper()
	var keys []string
	pages := 0
	after := ""
	for {
		q := url.Values{}
		for k, v := range params {
			q[k] = v
		}
		if after != "" {
			q.Set("after", after)
		}
		got := call(t, http.MethodGet, base+wire.PathDocs+"?"+q.Encode(), nil)
		expect(t, "list "+q.Encode(), got, http.StatusOK, "")
		var page listing
		if err := json.Unmarshal(got.body, &page); err != nil {
			t.Fatal(err)
		}
		pages++
		if page.Commit != wantCommit {
			t.Fatalf("page %d read commit %s, want %s", pages, page.Commit.Short(), wantCommit.Short())
		}
		for _, d := range page.Docs {
			content, ok := want[d.Key]
			if !ok {
				t.Fatalf("listed %q, which is not in the branch under this prefix", d.Key)
			}
			if d.ID != objects.EncodeBlob([]byte(content)).ID || d.Size != uint64(len(content)) || d.Kind != objects.DetectKind([]byte(content)).String() {
				t.Fatalf("%s: listed as %+v", d.Key, d)
			}
			keys = append(keys, d.Key)
		}
		if page.Next == "" {
			return keys, pages
		}
		if len(page.Docs) == 0 || page.Next != page.Docs[len(page.Docs)-1].Key {
			t.Fatalf("page %d: next %q is not its last key", pages, page.Next)
		}
		after = page.Next
	}
}

// Listing walks the whole branch page by page, in key order, each key
// once, with prefix, after and limit combined.
func TestListPagination(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	all := map[string]string{}
	var edits []repo.Edit
	for i := range 2500 {
		key := fmt.Sprintf("docs/%04d.json", i)
		if i%5 == 0 {
			key = fmt.Sprintf("logs/%04d.txt", i)
		}
		content := fmt.Sprintf(`{"i": %d}`, i)
		if i%5 == 0 {
			content = fmt.Sprintf("line %d\n", i)
		}
		all[key] = content
		e, err := r.WriteDocumentBytes(ctx, []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		edits = append(edits, repo.Edit{Key: key, Entry: e})
	}
	head, err := r.CommitEdits(ctx, mainRef, edits, repo.CommitOptions{Time: t0, Message: "load"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, r, server.Options{})
	under := func(prefix, after string) (map[string]string, []string) {
		m := map[string]string{}
		var keys []string
		for k, v := range all {
			if len(k) >= len(prefix) && k[:len(prefix)] == prefix && k > after {
				m[k] = v
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		return m, keys
	}

	for _, tc := range []struct{ prefix, after, limit string }{
		{"", "", ""},                       // default pages of 1000
		{"", "", "10000"},                  // the largest page
		{"", "", "2500"},                   // everything on one full page
		{"", "", "999"},                    // pages that do not divide evenly
		{"logs/", "", "500"},               // one exactly full page
		{"logs/", "", "250"},               // the last page exactly full
		{"logs/", "", "7"},                 // many small pages
		{"docs/", "docs/1000.json", "333"}, // start after a key
		{"docs/", "docs/0999.json", ""},    // after a key that is not stored
		{"docs", "", ""},                   // a prefix without its slash
		{"zzz/", "", ""},                   // nothing under the prefix
		{"", "logs/2495.txt", ""},          // after the last key
	} {
		t.Run(fmt.Sprintf("prefix=%s,after=%s,limit=%s", tc.prefix, tc.after, tc.limit), func(t *testing.T) {
			params := url.Values{}
			limit := 1000
			if tc.prefix != "" {
				params.Set("prefix", tc.prefix)
			}
			if tc.limit != "" {
				params.Set("limit", tc.limit)
				limit, _ = strconv.Atoi(tc.limit)
			}
			if tc.after != "" {
				params.Set("after", tc.after)
			}
			want, wantKeys := under(tc.prefix, tc.after)
			keys, pages := walkListing(t, base, params, head, want)
			if !slices.Equal(keys, wantKeys) {
				t.Fatalf("walked %d keys, want %d, in order", len(keys), len(wantKeys))
			}
			if wantPages := max(1, (len(wantKeys)+limit-1)/limit); pages != wantPages {
				t.Errorf("%d pages for %d keys, want %d", pages, len(wantKeys), wantPages)
			}
		})
	}
	if _, keys := under("", ""); len(keys) != 2500 {
		t.Fatalf("fixture has %d keys", len(keys))
	}

	for _, bad := range []struct{ query, code string }{
		{"limit=0", "bad_request"},
		{"limit=10001", "bad_request"},
		{"limit=x", "bad_request"},
		{"limit=-1", "bad_request"},
		{"prefix=a%2F%2F", "invalid_key"},
		{"prefix=..%2F", "invalid_key"},
		{"branch=a..b", "invalid_ref"},
	} {
		expect(t, "list ?"+bad.query, call(t, http.MethodGet, base+wire.PathDocs+"?"+bad.query, nil), http.StatusBadRequest, bad.code)
	}
}

// The log lists a branch's commits newest first, n at a time.
func TestLog(t *testing.T) {
	r := newRepo(t)
	var ids []objects.ID
	for i := range 60 {
		ids = append(ids, commitDocs(t, r, mainRef, map[string]string{"a": fmt.Sprint(i)}, t0.Add(time.Duration(i)*time.Minute)))
	}
	base := serve(t, r, server.Options{})
	slices.Reverse(ids)
	for _, n := range []int{0, 1, 60, 1000} {
		log := logOf(t, base, "main", n)
		want := min(len(ids), max(n, 0))
		if n == 0 {
			want = 50 // the default
		}
		if len(log) != want {
			t.Fatalf("n=%d: %d commits, want %d", n, len(log), want)
		}
		for i, c := range log {
			if c.ID != ids[i] || c.Height != uint64(60-i) {
				t.Fatalf("n=%d: log[%d] = %s (height %d), want %s", n, i, c.ID.Short(), c.Height, ids[i].Short())
			}
		}
	}
	for _, bad := range []string{"n=0", "n=1001", "n=many"} {
		expect(t, "log ?"+bad, call(t, http.MethodGet, base+wire.PathLog+"?"+bad, nil), http.StatusBadRequest, "bad_request")
	}
}
