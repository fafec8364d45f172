package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// A folder of repositories served with MaxOpen 2 never has more than two
// open: each new one closes the one unused longest, and a closed one
// reopens on its next request with its data. When every open repository
// is in use, a request for another does not open it past the cap: it
// waits for one to be done, and if none is done in
// its time, it is refused (503 busy). Idle ones close after IdleClose.
func TestRootCapsOpenRepositories(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	names := []string{"r0", "r1", "r2", "r3", "r4"}
	makeRepos(t, dir, names...)
	opened := 0
	repos := server.Root(dir, func(ctx context.Context, dir string) (*repo.Repo, error) {
		opened++
		return repo.Open(ctx, dir, repo.Options{})
	}, server.RootOptions{MaxOpen: 2, IdleClose: time.Hour})
	t.Cleanup(func() { repos.Close() })
	base := serve(t, nil, server.Options{Repos: repos})

	for round := range 2 {
		for _, name := range names {
			got := call(t, http.MethodGet, base+name+"/"+wire.PathDocs+"/name", nil)
			expect(t, "read "+name, got, http.StatusOK, "")
			if string(got.body) != name {
				t.Errorf("round %d: /%s/ serves %q", round, name, got.body)
			}
			if n := server.SweepIdle(repos, time.Time{}); n > 2 {
				t.Fatalf("round %d: %d repositories open after reading %s, want at most 2", round, n, name)
			}
		}
	}
	if opened != 2*len(names) {
		t.Errorf("opened %d times for 2 rounds over %d repositories with room for 2: closed ones were not reopened", opened, len(names))
	}

	ctx := context.Background()
	r0, done0, err := repos.Get(ctx, "r0")
	if err != nil {
		t.Fatal(err)
	}
	_, done1, err := repos.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	expired, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := repos.Get(expired, "r2"); !errors.Is(err, server.ErrBusy) {
		t.Fatalf("a third repository while two are in use, with no time to wait: %v, want ErrBusy", err)
	}
	hurried := serve(t, nil, server.Options{Repos: repos, Limits: server.Limits{RequestTimeout: 100 * time.Millisecond}})
	expect(t, "read r3 while two stay in use", call(t, http.MethodGet, hurried+"r3/"+wire.PathDocs+"/name", nil), http.StatusServiceUnavailable, "busy")
	if _, err := r0.Store().Ref(ctx, mainRef); err != nil {
		t.Fatalf("r0 in use was closed under its user: %v", err)
	}
	type got struct {
		done func()
		err  error
	}
	waiter := make(chan got)
	go func() {
		_, done, err := repos.Get(ctx, "r2") // waits for r0 or r1
		waiter <- got{done, err}
	}()
	done0()
	done0() // a second call changes nothing
	if w := <-waiter; w.err != nil {
		t.Fatalf("r2, waiting for r0 to be done: %v", w.err)
	} else {
		w.done()
	}
	if n := server.SweepIdle(repos, time.Now().Add(2*time.Hour)); n != 1 {
		t.Errorf("%d repositories open after the idle sweep, want 1 (r1, still in use)", n)
	}
	done1()
	if n := server.SweepIdle(repos, time.Now().Add(2*time.Hour)); n != 0 {
		t.Errorf("%d repositories open after the idle sweep, want none", n)
	}
}

// objectCount counts the objects of a store.
func objectCount(t *testing.T, r *repo.Repo) int {
	t.Helper()
	n := 0
	if err := r.Store().Objects(context.Background(), nil, func(objects.ID, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// uploadFiles lists upload spool files left in a repository's folder.
func uploadFiles(t *testing.T, r *repo.Repo) []string {
	t.Helper()
	found, err := filepath.Glob(filepath.Join(r.Dir(), "upload-*"))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// onlyReader hides a body's length, so it goes chunked and the server
// finds the limit only by reading.
type onlyReader struct{ io.Reader }

// A document PUT over the limit stores nothing: not the chunks it sent
// before the limit (streamed without a length), nor anything when its
// declared length is over (refused unread); no spool file stays behind.
// A PUT within the limit is stored whole.
func TestRejectedPutStoresNothing(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	commitDocs(t, r, mainRef, map[string]string{"a": "a"}, t0)
	limits := server.DefaultLimits
	limits.MaxDocumentSize = 7 << 20
	doc := serve(t, r, server.Options{Limits: limits}) + wire.PathDocs + "/big"
	before := objectCount(t, r)
	big := bytes.Repeat([]byte("0123456789abcdef\n"), (16<<20)/17)

	for _, chunked := range []bool{true, false} {
		var body io.Reader = bytes.NewReader(big)
		if chunked {
			body = onlyReader{body}
		}
		req, err := http.NewRequest(http.MethodPut, doc, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked %v: status %d, want 413", chunked, resp.StatusCode)
		}
		if after := objectCount(t, r); after != before {
			t.Errorf("chunked %v: a rejected PUT left %d objects in the store", chunked, after-before)
		}
	}
	if left := uploadFiles(t, r); len(left) > 0 {
		t.Errorf("spool files left behind: %v", left)
	}
	within := big[:(5<<20)/2]
	expect(t, "put within the limit", call(t, http.MethodPut, doc, within), http.StatusCreated, "")
	if got, _ := docAt(t, r, mainRef, "big"); got != string(within) {
		t.Errorf("stored %d bytes, want the %d sent", len(got), len(within))
	}
	if left := uploadFiles(t, r); len(left) > 0 {
		t.Errorf("spool files left behind: %v", left)
	}
}

// failingReader gives n bytes, then fails.
type failingReader struct{ n int }

var errBroken = errors.New("broken pipe")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errBroken
	}
	m := min(len(p), f.n)
	for i := range m {
		p[i] = byte('a' + i%26)
	}
	f.n -= m
	return m, nil
}

// An upload whose source fails part way stores nothing, at every size:
// small, past the single-blob size, past several chunks.
func TestWriteUploadBrokenSourceStoresNothing(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	for _, size := range []int{10, 200 << 10, repo.SingleBlobMax + 1, 9 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			before := objectCount(t, r)
			if _, err := r.WriteUpload(context.Background(), &failingReader{n: size}); !errors.Is(err, errBroken) {
				t.Fatalf("WriteUpload: %v, want the source's error", err)
			}
			if after := objectCount(t, r); after != before {
				t.Errorf("a broken upload of %d bytes stored %d objects", size, after-before)
			}
			if left := uploadFiles(t, r); len(left) > 0 {
				t.Errorf("spool files left behind: %v", left)
			}
		})
	}
	// The same content whole is stored, and reads back.
	e, err := r.WriteUpload(context.Background(), io.LimitReader(&failingReader{n: 9 << 20}, 9<<20))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := r.CopyDocument(context.Background(), &out, e); err != nil || out.Len() != 9<<20 {
		t.Fatalf("read back %d bytes, %v", out.Len(), err)
	}
}
