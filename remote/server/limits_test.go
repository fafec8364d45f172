package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// A body over MaxDocumentSize is 413 too_large and makes no commit, for a
// small document and for one past the single-blob size (streamed in
// chunks); a body at the limit is taken.
func TestDocumentOverLimit(t *testing.T) {
	for _, limit := range []int64{1 << 10, repo.SingleBlobMax + 512<<10} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			r := newRepo(t)
			c1 := commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
			limits := server.DefaultLimits
			limits.MaxDocumentSize = limit
			doc := serve(t, r, server.Options{Limits: limits}) + wire.PathDocs + "/big"

			for _, over := range []int64{limit + 1, 3 * limit} {
				got := call(t, http.MethodPut, doc, bytes.Repeat([]byte("x"), int(over)))
				expect(t, fmt.Sprintf("put of %d bytes", over), got, http.StatusRequestEntityTooLarge, "too_large")
				if headOf(t, r, mainRef) != c1 {
					t.Fatalf("a %d-byte put over a %d-byte limit made a commit", over, limit)
				}
			}
			expect(t, "put at the limit", call(t, http.MethodPut, doc, bytes.Repeat([]byte("y"), int(limit))), http.StatusCreated, "")
			if got, _ := docAt(t, r, mainRef, "big"); int64(len(got)) != limit {
				t.Errorf("stored %d bytes, want %d", len(got), limit)
			}
		})
	}
}

// Limits with only some fields set keep the defaults for the others: a
// server given only a document limit still answers requests.
func TestPartialLimitsKeepDefaults(t *testing.T) {
	r := newRepo(t)
	commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	base := serve(t, r, server.Options{Limits: server.Limits{MaxDocumentSize: 1 << 20}})
	expect(t, "get", call(t, http.MethodGet, base+wire.PathDocs+"/a", nil), http.StatusOK, "")
	expect(t, "put", call(t, http.MethodPut, base+wire.PathDocs+"/b", []byte("b")), http.StatusCreated, "")
}

// Concurrent writes to one branch all land: each is its own commit on a
// single line of history, and no document is lost.
func TestConcurrentPutsAllLand(t *testing.T) {
	r := newRepo(t)
	base := serve(t, r, server.Options{})
	const writers, each = 32, 8
	type landed struct {
		key    string
		commit objects.ID
	}
	results := make(chan landed, 2*writers*each)
	errs := make(chan error, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%02d/doc%d.json", w, i)
				body := fmt.Sprintf(`{"writer": %d, "i": %d}`, w, i)
				// Every writer also rewrites one shared document.
				for _, k := range []string{key, "shared.json"} {
					req, _ := http.NewRequest(http.MethodPut, base+wire.PathDocs+"/"+k, bytes.NewReader([]byte(body)))
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						errs <- err
						return
					}
					var res writeResult
					decodeErr := jsonDecode(resp, &res)
					if resp.StatusCode/100 != 2 || decodeErr != nil {
						errs <- fmt.Errorf("put %s: status %d, %v", k, resp.StatusCode, decodeErr)
						return
					}
					results <- landed{k, res.Commit}
				}
			}
		})
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	commits := map[objects.ID]string{}
	for l := range results {
		if other, dup := commits[l.commit]; dup {
			t.Fatalf("writes of %s and %s reported the same commit", l.key, other)
		}
		commits[l.commit] = l.key
	}
	if len(commits) != 2*writers*each {
		t.Fatalf("%d commits reported, want %d", len(commits), 2*writers*each)
	}
	log := logOf(t, base, "main", 1000)
	if len(log) != len(commits) {
		t.Fatalf("the branch has %d commits, %d writes were acknowledged", len(log), len(commits))
	}
	for i, c := range log {
		if _, ok := commits[c.ID]; !ok {
			t.Fatalf("commit %s in the log was not reported by any write", c.ID.Short())
		}
		if i+1 < len(log) && (len(c.Parents) != 1 || c.Parents[0] != log[i+1].ID) {
			t.Fatalf("history is not a line at %s", c.ID.Short())
		}
	}
	for w := range writers {
		for i := range each {
			key := fmt.Sprintf("w%02d/doc%d.json", w, i)
			if got, _ := docAt(t, r, mainRef, key); got != fmt.Sprintf(`{"writer": %d, "i": %d}`, w, i) {
				t.Errorf("%s: %q", key, got)
			}
		}
	}
}
