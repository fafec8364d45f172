package remote_test

// Replication benchmarks against git on the same documents, in the same
// run. Each iteration times folio and git one after the other and the
// figures are medians over the iterations (-benchtime Nx), reported with
// b.ReportMetric; compare ratios within one run, the machine is shared.
//
//	go test -run '^$' -bench 'Clone|Fetch|Push|DocAPI' -benchtime 3x ./remote/
//
// git is served by git http-backend behind net/http/cgi, folio by its
// server through httptest, both on 127.0.0.1 and through the same counting
// middleware, so requests and bytes are measured the same way for both
// (response bodies as the server wrote them, compressed or not).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/server"
)

const benchBranch = objects.BranchPrefix + "main"

// benchEpoch is the time of every generated commit, so runs are
// reproducible.
var benchEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var benchAuthor = objects.Signature{Name: "bench", Email: "bench@example.com"}

func skipShort(b *testing.B) {
	b.Helper()
	if testing.Short() {
		b.Skip("replication benchmark: skipped under -short")
	}
}

// benchWords make document bodies read like text, so they compress the
// way real JSON documents do.
var benchWords = strings.Fields(`account address amount balance billing branch cache
	city client code comment company contact country created currency customer date
	default delivery description device discount email enabled error event expires
	field file first group history identifier image invoice item language last level
	limit location message method mobile name note number order owner page payment
	phone plan price priority product quantity reference region report request
	role schedule score session settings shipping source state status street
	subscription summary tag tax team time title total type updated user value
	version warehouse weight`)

// benchKey is the key of document i.
func benchKey(i int) string { return fmt.Sprintf("docs/%07d.json", i) }

// benchDoc is version v of document i: a JSON object of about size bytes,
// the same on every run.
func benchDoc(i, v, size int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), uint64(v)))
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"id": %d, "version": %d, "owner": "user%05d", "status": %q, "score": %d, "body": "`,
		i, v, rng.IntN(50000), benchWords[rng.IntN(len(benchWords))], rng.IntN(1000))
	for b.Len() < size-3 {
		b.WriteString(benchWords[rng.IntN(len(benchWords))])
		b.WriteByte(' ')
	}
	b.WriteString("\"}\n")
	return b.Bytes()
}

// benchRepo makes a folio repository in dir holding n documents of about
// size bytes in one commit: blobs in large Puts, the index with the prolly
// builder. The same n and size give the same commit ID in every folder.
func benchRepo(b *testing.B, dir string, n, size int) (*repo.Repo, objects.ID) {
	b.Helper()
	ctx := context.Background()
	r, err := repo.Init(ctx, dir, "", repo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	entries := make([]objects.Entry, n)
	var batch []objects.Object
	batched := 0
	for i := range n {
		obj, e, ok := repo.EncodeSmallDocument(benchDoc(i, 0, size))
		if !ok {
			b.Fatal("document too large")
		}
		entries[i] = e
		batch = append(batch, obj)
		batched += len(obj.Data)
		if batched >= 64<<20 || i == n-1 {
			if err := r.Store().Put(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch, batched = batch[:0], 0
		}
	}
	index, err := r.Tree().Build(ctx, func(yield func(string, objects.Entry) bool) {
		for i, e := range entries {
			if !yield(benchKey(i), e) {
				return
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	id, err := r.WriteCommit(ctx, &objects.Commit{Index: index, Author: benchAuthor, Time: benchEpoch, Message: "load"})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: benchBranch, New: id}); err != nil {
		b.Fatal(err)
	}
	return r, id
}

// asServed reopens a repository the way folio serve opens one (with its
// block cache).
func asServed(b *testing.B, r *repo.Repo) *repo.Repo {
	b.Helper()
	dir := r.Dir()
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
	served, err := repo.Open(context.Background(), dir, repo.Options{CacheBytes: server.DefaultCacheBytes})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { served.Close() })
	return served
}

// benchCommit commits new versions of some documents on main.
func benchCommit(b *testing.B, r *repo.Repo, version, size int, docs ...int) objects.ID {
	b.Helper()
	ctx := context.Background()
	var edits []repo.Edit
	for _, i := range docs {
		e, err := r.WriteDocumentBytes(ctx, benchDoc(i, version, size))
		if err != nil {
			b.Fatal(err)
		}
		edits = append(edits, repo.Edit{Key: benchKey(i), Entry: e})
	}
	id, err := r.CommitEdits(ctx, benchBranch, edits, repo.CommitOptions{Author: benchAuthor,
		Time: benchEpoch.Add(time.Duration(version) * time.Minute), Message: fmt.Sprintf("version %d", version)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return id
}

// benchMissing is the minimum a sender must send: the summed encoded size
// of the objects reachable from id that dst lacks. A stored object's whole
// closure is stored (package transfer), so the walk stops at one.
func benchMissing(b testing.TB, src, dst *repo.Repo, id objects.ID) (bytes int64, count int) {
	b.Helper()
	ctx := context.Background()
	seen := map[objects.ID]bool{}
	var visit func(id objects.ID)
	visit = func(id objects.ID) {
		if seen[id] {
			return
		}
		seen[id] = true
		if ok, err := dst.Store().Has(ctx, id); err != nil {
			b.Fatal(err)
		} else if ok {
			return
		}
		data, err := src.Store().Get(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		bytes += int64(len(data))
		count++
		refs, err := objects.References(data)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range refs {
			visit(r)
		}
	}
	visit(id)
	return bytes, count
}

// counted wraps a handler and counts its requests and the body bytes in
// both directions.
type counted struct {
	h                     http.Handler
	requests, sent, recvd atomic.Int64 // recvd: request bodies; sent: response bodies
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingResponse struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingResponse) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

func (w countingResponse) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *counted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.requests.Add(1)
	if r.Body != nil {
		r.Body = countingBody{r.Body, &c.recvd}
	}
	c.h.ServeHTTP(countingResponse{w, &c.sent}, r)
}

// snapshot returns the counters and zeroes them.
func (c *counted) snapshot() (requests, sent, recvd int64) {
	return c.requests.Swap(0), c.sent.Swap(0), c.recvd.Swap(0)
}

// serveFolio serves a repository on 127.0.0.1 through a counter.
func serveFolio(b *testing.B, r *repo.Repo) (string, *counted) {
	b.Helper()
	c := &counted{h: server.New(server.Options{Repos: server.Single(r)})}
	srv := httptest.NewServer(c)
	b.Cleanup(srv.Close)
	return srv.URL + "/", c
}

// benchEnv isolates folio and git from the user's configuration.
func benchEnv(b *testing.B) {
	b.Helper()
	home := b.TempDir()
	b.Setenv("HOME", home)
	b.Setenv("XDG_CONFIG_HOME", home)
	b.Setenv("FOLIO_CREDENTIALS", filepath.Join(home, "credentials.json"))
	b.Setenv("FOLIO_TOKEN", "")
	b.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	b.Setenv("GIT_TERMINAL_PROMPT", "0")
}

// gitRun runs git and fails the benchmark on an error.
func gitRun(b *testing.B, dir string, stdin io.Reader, args ...string) {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// gitBackend finds git's HTTP backend.
func gitBackend() (string, bool) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "", false
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	_, err = os.Stat(backend)
	return backend, err == nil
}

// needGit skips when git or its HTTP backend is missing.
func needGit(b *testing.B) string {
	b.Helper()
	backend, ok := gitBackend()
	if !ok {
		b.Skip("git and git http-backend are needed")
	}
	return backend
}

// gitImport commits new versions of some documents on main of a bare
// repository, with git fast-import.
func gitImport(b *testing.B, bare string, version, size int, docs ...int) {
	b.Helper()
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<20)
		msg := fmt.Sprintf("version %d", version)
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter bench <bench@example.com> %d +0000\ndata %d\n%s\nfrom refs/heads/main^0\n",
			benchEpoch.Add(time.Duration(version)*time.Minute).Unix(), len(msg), msg)
		for _, i := range docs {
			doc := benchDoc(i, version, size)
			fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n", benchKey(i), len(doc))
			w.Write(doc)
			w.WriteByte('\n')
		}
		w.WriteString("done\n")
		pw.CloseWithError(w.Flush())
	}()
	gitRun(b, bare, pr, "fast-import", "--quiet", "--done")
}

// gitLoad makes the first commit of a bare repository: the same n
// documents as benchRepo, under the same keys. Blobs go through git
// fast-import, the folder through git mktree (fast-import's folders are
// quadratic in their size: a million entries took over 20 minutes).
func gitLoad(b *testing.B, bare string, n, size int) {
	b.Helper()
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<20)
		for i := range n {
			doc := benchDoc(i, 0, size)
			fmt.Fprintf(w, "blob\ndata %d\n", len(doc))
			w.Write(doc)
			w.WriteByte('\n')
		}
		w.WriteString("done\n")
		pw.CloseWithError(w.Flush())
	}()
	gitRun(b, bare, pr, "fast-import", "--quiet", "--done")
	var docs bytes.Buffer
	for i := range n {
		doc := benchDoc(i, 0, size)
		sum := sha1.Sum(append(fmt.Appendf(nil, "blob %d\x00", len(doc)), doc...))
		fmt.Fprintf(&docs, "100644 blob %x\t%s\n", sum, path.Base(benchKey(i)))
	}
	docsTree := gitOutput(b, bare, &docs, "mktree")
	root := gitOutput(b, bare, strings.NewReader("040000 tree "+docsTree+"\t"+path.Dir(benchKey(0))+"\n"), "mktree")
	commit := gitOutput(b, bare, strings.NewReader("load\n"), "commit-tree", root)
	gitRun(b, bare, nil, "update-ref", "refs/heads/main", commit)
}

// gitOutput runs git and returns its output, trimmed.
func gitOutput(b *testing.B, dir string, stdin io.Reader, args ...string) string {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	when := fmt.Sprintf("%d +0000", benchEpoch.Unix())
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_AUTHOR_DATE="+when,
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com", "GIT_COMMITTER_DATE="+when)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out))
}

// gitServer makes a bare git repository holding the same n documents as
// benchRepo, packed as a server keeps it, and serves it with git
// http-backend. It returns the bare folder and the repository's URL.
func gitServer(b *testing.B, backend string, n, size int) (string, string, *counted) {
	b.Helper()
	root := b.TempDir()
	bare := filepath.Join(root, "docs.git")
	gitRun(b, root, nil, "init", "-q", "--bare", "-b", "main", bare)
	gitLoad(b, bare, n, size)
	gitRun(b, bare, nil, "repack", "-a", "-d", "-q")
	gitRun(b, bare, nil, "config", "http.receivepack", "true")
	c := &counted{h: &cgi.Handler{
		Path: backend,
		Root: "/git",
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}}
	srv := httptest.NewServer(c)
	b.Cleanup(srv.Close)
	return bare, srv.URL + "/git/docs.git", c
}

// timed runs fn and returns how long it took.
func timed(b *testing.B, fn func() error) time.Duration {
	b.Helper()
	start := time.Now()
	if err := fn(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

func gitCmd(dir string, args ...string) func() error {
	return func() error {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkClone100k clones a repository of 100,000 JSON documents of
// about 1 KiB over HTTP on 127.0.0.1: folio's Clone against git clone
// --bare (objects only, as folio) and a full git clone (with checkout).
// folio-cpu-s is the CPU time of this process during folio's clone
// (client and in-process server, with Badger's background work), which a
// busy shared machine inflates less than the wall time.
func BenchmarkClone100k(b *testing.B) {
	skipShort(b)
	backend := needGit(b)
	benchEnv(b)
	const n, size = 100_000, 1024
	src, head := benchRepo(b, b.TempDir(), n, size)
	src = asServed(b, src)
	folioURL, folioCount := serveFolio(b, src)
	_, gitURL, gitCount := gitServer(b, backend, n, size)
	ctx := context.Background()

	var folioT, bareT, fullT, folioCPU []time.Duration
	var folioBytes, gitBytes, folioReqs, gitReqs int64
	for b.Loop() {
		dir := b.TempDir()
		folioCount.snapshot()
		cpu := processCPU()
		folioT = append(folioT, timed(b, func() error {
			r, _, err := remote.Clone(ctx, folioURL, filepath.Join(dir, "folio"), remote.Options{})
			if err != nil {
				return err
			}
			if got, err := r.RefOrZero(ctx, benchBranch); err != nil || got != head {
				return fmt.Errorf("clone at %s (%v), want %s", got.Short(), err, head.Short())
			}
			return r.Close()
		}))
		folioCPU = append(folioCPU, processCPU()-cpu)
		folioReqs, folioBytes, _ = folioCount.snapshot()
		gitCount.snapshot()
		bareT = append(bareT, timed(b, gitCmd(dir, "clone", "-q", "--bare", gitURL, "bare.git")))
		gitReqs, gitBytes, _ = gitCount.snapshot()
		fullT = append(fullT, timed(b, gitCmd(dir, "clone", "-q", gitURL, "full")))
		os.RemoveAll(dir)
	}
	b.ReportMetric(seconds(median(folioT)), "folio-s")
	b.ReportMetric(seconds(median(folioCPU)), "folio-cpu-s")
	b.ReportMetric(seconds(median(bareT)), "git-bare-s")
	b.ReportMetric(seconds(median(fullT)), "git-checkout-s")
	b.ReportMetric(median(folioT).Seconds()/median(bareT).Seconds(), "folio/git-bare")
	b.ReportMetric(float64(folioBytes), "folio-bytes")
	b.ReportMetric(float64(gitBytes), "git-bytes")
	b.ReportMetric(float64(folioReqs), "folio-requests")
	b.ReportMetric(float64(gitReqs), "git-requests")
}

// BenchmarkFetchOneCommit fetches one new commit (one document changed)
// into a clone of the 100,000-document repository: folio's Fetch against
// git fetch, with the requests made, the bytes received and, for folio,
// the minimum (the encoded objects the receiver lacks).
func BenchmarkFetchOneCommit(b *testing.B) {
	skipShort(b)
	backend := needGit(b)
	benchEnv(b)
	const n, size = 100_000, 1024
	ctx := context.Background()
	src, _ := benchRepo(b, b.TempDir(), n, size)
	folioURL, folioCount := serveFolio(b, src)
	bare, gitURL, gitCount := gitServer(b, backend, n, size)
	dir := b.TempDir()
	leader, _, err := remote.Clone(ctx, folioURL, filepath.Join(dir, "folio"), remote.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { leader.Close() })
	origin := remote.Remote{Name: "origin", URL: folioURL}
	gitRun(b, dir, nil, "clone", "-q", "--no-checkout", gitURL, "git")
	gitClone := filepath.Join(dir, "git")

	var folioT, gitT []time.Duration
	var folioBytes, gitBytes, minBytes, folioReqs, gitReqs []int64
	version := 0
	for b.Loop() {
		version++
		doc := (version * 7919) % n
		id := benchCommit(b, src, version, size, doc)
		gitImport(b, bare, version, size, doc)
		minimal, _ := benchMissing(b, src, leader, id)

		folioCount.snapshot()
		var rep *remote.Report
		folioT = append(folioT, timed(b, func() error {
			var err error
			rep, err = remote.Fetch(ctx, leader, origin, remote.Options{})
			return err
		}))
		reqs, sent, _ := folioCount.snapshot()
		if got, _ := leader.RefOrZero(ctx, remote.TrackingRef("origin", benchBranch)); got != id || rep.Requests != reqs {
			b.Fatalf("fetch: tracking ref at %s, want %s; %d requests counted by the client, %d by the server", got.Short(), id.Short(), rep.Requests, reqs)
		}
		folioReqs, folioBytes, minBytes = append(folioReqs, reqs), append(folioBytes, sent), append(minBytes, minimal)

		gitCount.snapshot()
		gitT = append(gitT, timed(b, gitCmd(gitClone, "fetch", "-q", "origin")))
		reqs, sent, _ = gitCount.snapshot()
		gitReqs, gitBytes = append(gitReqs, reqs), append(gitBytes, sent)
	}
	b.ReportMetric(float64(median(folioT).Microseconds())/1000, "folio-ms")
	b.ReportMetric(float64(median(gitT).Microseconds())/1000, "git-ms")
	b.ReportMetric(median(folioT).Seconds()/median(gitT).Seconds(), "folio/git")
	b.ReportMetric(float64(median(folioReqs)), "folio-requests")
	b.ReportMetric(float64(median(gitReqs)), "git-requests")
	b.ReportMetric(float64(median(folioBytes)), "folio-bytes")
	b.ReportMetric(float64(median(gitBytes)), "git-bytes")
	b.ReportMetric(float64(median(minBytes)), "minimal-bytes")
}

// BenchmarkPushOneDocOn1M pushes a one-document change to a repository of
// 1,000,000 documents (about 100 bytes each: the size of the documents
// does not change what an index edit costs) and reports the bytes sent
// against the minimum, and git push of the same change to a bare git
// repository holding the same files (one flat folder of a million
// entries), when git is installed.
func BenchmarkPushOneDocOn1M(b *testing.B) {
	skipShort(b)
	benchEnv(b)
	const n, size = 1_000_000, 100
	ctx := context.Background()
	hub, base := benchRepo(b, b.TempDir(), n, size)
	url, count := serveFolio(b, hub)
	// The leader holds the same commit, built the same way (a clone would
	// give the same store), and knows the hub as origin.
	leader, leaderBase := benchRepo(b, b.TempDir(), n, size)
	if leaderBase != base {
		b.Fatalf("the two builds differ: %s and %s", base.Short(), leaderBase.Short())
	}
	if err := remote.Add(leader.Files, "origin", url); err != nil {
		b.Fatal(err)
	}
	if err := leader.Store().UpdateRefs(ctx, objects.RefUpdate{Name: remote.TrackingRef("origin", benchBranch), New: base}); err != nil {
		b.Fatal(err)
	}
	origin := remote.Remote{Name: "origin", URL: url}

	var gitClone string
	var gitCount *counted
	if backend, ok := gitBackend(); ok {
		var gitURL string
		_, gitURL, gitCount = gitServer(b, backend, n, size)
		dir := b.TempDir()
		gitRun(b, dir, nil, "clone", "-q", "--bare", gitURL, "leader.git")
		gitClone = filepath.Join(dir, "leader.git")
	}

	var pushT, gitT []time.Duration
	var sentBytes, wireBytes, minBytes, objectsSent, minObjects, reqs, gitBytes, gitReqs []int64
	version := 0
	for b.Loop() {
		version++
		doc := (version * 104729) % n
		id := benchCommit(b, leader, version, size, doc)
		minimal, minimalObjects := benchMissing(b, leader, hub, id)
		count.snapshot()
		var rep *remote.Report
		pushT = append(pushT, timed(b, func() error {
			var err error
			rep, err = remote.Push(ctx, leader, origin, []string{benchBranch}, remote.PushOptions{})
			return err
		}))
		r, _, recvd := count.snapshot()
		if got, _ := hub.RefOrZero(ctx, benchBranch); got != id {
			b.Fatalf("push: hub at %s, want %s", got.Short(), id.Short())
		}
		sentBytes, wireBytes = append(sentBytes, rep.BytesSent), append(wireBytes, recvd)
		minBytes, objectsSent, minObjects, reqs = append(minBytes, minimal), append(objectsSent, int64(rep.ObjectsSent)),
			append(minObjects, int64(minimalObjects)), append(reqs, r)

		if gitClone != "" {
			gitImport(b, gitClone, version, size, doc)
			gitCount.snapshot()
			gitT = append(gitT, timed(b, gitCmd(gitClone, "push", "-q", "origin", "main")))
			r, _, recvd := gitCount.snapshot()
			gitReqs, gitBytes = append(gitReqs, r), append(gitBytes, recvd)
		}
	}
	b.ReportMetric(float64(median(pushT).Microseconds())/1000, "push-ms")
	b.ReportMetric(float64(median(sentBytes)), "bytes-sent")
	b.ReportMetric(float64(median(wireBytes)), "server-bytes-received")
	b.ReportMetric(float64(median(minBytes)), "minimal-bytes")
	b.ReportMetric(float64(median(objectsSent)), "objects-sent")
	b.ReportMetric(float64(median(minObjects)), "minimal-objects")
	b.ReportMetric(float64(median(reqs)), "requests")
	if gitClone != "" {
		b.ReportMetric(float64(median(gitT).Microseconds())/1000, "git-push-ms")
		b.ReportMetric(float64(median(gitBytes)), "git-bytes-sent")
		b.ReportMetric(float64(median(gitReqs)), "git-requests")
	}
}

// docAPIFixture is a served repository of docAPIDocs documents of 1 KiB.
const docAPIDocs = 10_000

func docAPIServer(b *testing.B) string {
	b.Helper()
	r, _ := benchRepo(b, b.TempDir(), docAPIDocs, 1024)
	r = asServed(b, r)
	srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(r)}))
	b.Cleanup(srv.Close)
	return srv.URL + "/"
}

// loadResult is what a load run measured.
type loadResult struct {
	requests int
	elapsed  time.Duration
	p50, p99 time.Duration
	cpu      time.Duration // of this process: load generator, server and Badger
}

// load sends requests from conc workers over kept-alive connections until
// total requests are done; req makes worker w's i-th request.
func load(b *testing.B, conc, total int, req func(w, i int) (*http.Request, error)) loadResult {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	lat := make([][]time.Duration, conc)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start, cpu := time.Now(), processCPU()
	for w := range conc {
		wg.Go(func() {
			for i := 0; ; i++ {
				if next.Add(1) > int64(total) {
					return
				}
				rq, err := req(w, i)
				if err != nil {
					failed.Store(err)
					return
				}
				t0 := time.Now()
				resp, err := hc.Do(rq)
				if err != nil {
					failed.Store(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				if resp.StatusCode/100 != 2 {
					failed.Store(fmt.Errorf("%s %s: status %d", rq.Method, rq.URL.Path, resp.StatusCode))
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return loadResult{requests: len(all), elapsed: elapsed, p50: all[len(all)/2], p99: all[len(all)*99/100], cpu: cpu}
}

// reportLoad reports medians of the runs; cpu-us/req, the CPU time of the
// whole process per request, is what a busy shared machine inflates
// least (with wrk, the server's alone: wrk runs in a process of its own).
func reportLoad(b *testing.B, rs []loadResult) {
	var rps, cpu []float64
	var p50, p99 []time.Duration
	for _, r := range rs {
		rps = append(rps, float64(r.requests)/r.elapsed.Seconds())
		p50, p99 = append(p50, r.p50), append(p99, r.p99)
		cpu = append(cpu, float64(r.cpu.Microseconds())/float64(r.requests))
	}
	b.ReportMetric(median(rps), "req/s")
	if cpu[0] > 0 {
		b.ReportMetric(median(cpu), "cpu-us/req")
	}
	b.ReportMetric(float64(median(p50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(median(p99).Microseconds())/1000, "p99-ms")
}

// BenchmarkDocAPI measures GET and PUT of 1 KiB documents through the
// document API with a small Go load generator: 16 workers on kept-alive
// connections, random keys of a 10,000-document branch. Every PUT is a
// commit. Load generator and server share the machine's cores.
func BenchmarkDocAPI(b *testing.B) {
	skipShort(b)
	const conc = 16
	base := docAPIServer(b)
	b.Run("GET", func(b *testing.B) {
		var rs []loadResult
		for b.Loop() {
			rs = append(rs, load(b, conc, 20_000, func(w, i int) (*http.Request, error) {
				k := rand.New(rand.NewPCG(uint64(w), uint64(i))).IntN(docAPIDocs)
				return http.NewRequest(http.MethodGet, base+"v1/docs/"+benchKey(k), nil)
			}))
		}
		reportLoad(b, rs)
	})
	b.Run("PUT", func(b *testing.B) {
		var rs []loadResult
		var round atomic.Int64
		for b.Loop() {
			v := int(round.Add(1))
			rs = append(rs, load(b, conc, 2_000, func(w, i int) (*http.Request, error) {
				k := rand.New(rand.NewPCG(uint64(w), uint64(i))).IntN(docAPIDocs)
				body := benchDoc(k, v*1_000_000+w*10_000+i+1, 1024)
				return http.NewRequest(http.MethodPut, base+"v1/docs/"+benchKey(k), bytes.NewReader(body))
			}))
		}
		reportLoad(b, rs)
	})
}

// BenchmarkDocAPIWrk measures the same with wrk, when it is installed
// (apt-get install wrk): 2 threads, 16 connections, 5 seconds.
func BenchmarkDocAPIWrk(b *testing.B) {
	skipShort(b)
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk is not installed")
	}
	base := docAPIServer(b)
	scripts := b.TempDir()
	for name, script := range map[string]string{
		"get.lua": fmt.Sprintf(`math.randomseed(1)
request = function()
  return wrk.format("GET", string.format("/v1/docs/docs/%%07d.json", math.random(0, %d)))
end
`, docAPIDocs-1),
		"put.lua": fmt.Sprintf(`math.randomseed(2)
local n = 0
local pad = string.rep("payload ", 120)
request = function()
  n = n + 1
  local body = string.format('{"n": %%d, "body": "%%s"}', n, pad)
  return wrk.format("PUT", string.format("/v1/docs/docs/%%07d.json", math.random(0, %d)), nil, body)
end
`, docAPIDocs-1),
	} {
		if err := os.WriteFile(filepath.Join(scripts, name), []byte(script), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, method := range []string{"GET", "PUT"} {
		b.Run(method, func(b *testing.B) {
			var rs []loadResult
			for b.Loop() {
				cpu := processCPU()
				out, err := exec.Command(wrk, "-t2", "-c16", "-d5s", "--latency",
					"-s", filepath.Join(scripts, strings.ToLower(method)+".lua"), base).CombinedOutput()
				if err != nil {
					b.Fatalf("wrk: %v\n%s", err, out)
				}
				r := parseWrk(b, string(out))
				r.cpu = processCPU() - cpu // the server's alone: wrk is another process
				rs = append(rs, r)
			}
			reportLoad(b, rs)
		})
	}
}

var (
	wrkRate    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkErrors  = regexp.MustCompile(`Non-2xx or 3xx responses|Socket errors`)
	wrkCount   = regexp.MustCompile(`(?m)^\s+([0-9]+) requests in `)
	wrkUnits   = map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}
)

// parseWrk reads the rate and the latency percentiles of wrk's output.
func parseWrk(b *testing.B, out string) loadResult {
	b.Helper()
	if wrkErrors.MatchString(out) {
		b.Fatalf("wrk saw failures:\n%s", out)
	}
	m := wrkRate.FindStringSubmatch(out)
	n := wrkCount.FindStringSubmatch(out)
	if m == nil || n == nil {
		b.Fatalf("no rate in wrk's output:\n%s", out)
	}
	rate, _ := strconv.ParseFloat(m[1], 64)
	count, _ := strconv.Atoi(n[1])
	res := loadResult{requests: count, elapsed: time.Duration(float64(count) / rate * float64(time.Second))}
	for _, l := range wrkLatency.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(l[2], 64)
		d := time.Duration(v * float64(wrkUnits[l[3]]))
		if l[1] == "50" {
			res.p50 = d
		} else {
			res.p99 = d
		}
	}
	if res.p99 == 0 {
		b.Fatalf("no latency distribution in wrk's output:\n%s", out)
	}
	return res
}

// BenchmarkRepair100k repairs a clone of 100,000 JSON documents of about
// 1 KiB in which 100 documents are damaged (their stored bytes replaced by
// other bytes, as a disk that lies would leave them): remote.Repair runs
// fsck, fetches the 100 objects by ID from the served hub, and runs fsck
// again to find it clean.
func BenchmarkRepair100k(b *testing.B) {
	skipShort(b)
	const n, size, damaged = 100_000, 1024, 100
	src, _ := benchRepo(b, b.TempDir(), n, size)
	src = asServed(b, src)
	url, count := serveFolio(b, src)
	ctx := context.Background()
	var took []time.Duration
	var reqs, recvd int64
	for b.Loop() {
		b.StopTimer()
		r, _, err := remote.Clone(ctx, url, filepath.Join(b.TempDir(), "clone"), remote.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range damaged {
			k := i * (n / damaged)
			good := objects.EncodeBlob(benchDoc(k, 0, size))
			bad := objects.Object{ID: good.ID, Data: objects.EncodeBlob(benchDoc(k, 1, size)).Data}
			if err := r.Store().Put(ctx, bad); err != nil {
				b.Fatal(err)
			}
		}
		origin, err := remote.Lookup(r.Files, "origin")
		if err != nil {
			b.Fatal(err)
		}
		count.snapshot()
		b.StartTimer()
		took = append(took, timed(b, func() error {
			rep, err := remote.Repair(ctx, r, []remote.Remote{origin}, remote.Options{})
			if err == nil && (!rep.Fsck.OK() || len(rep.Repaired["origin"]) != damaged) {
				err = fmt.Errorf("repaired %d objects, fsck after: %d problems", len(rep.Repaired["origin"]), len(rep.Fsck.Problems))
			}
			return err
		}))
		reqs, recvd, _ = count.snapshot() // what the server sent
		b.StopTimer()
		r.Close()
		b.StartTimer()
	}
	b.ReportMetric(seconds(median(took)), "repair-s")
	b.ReportMetric(float64(reqs), "requests")
	b.ReportMetric(float64(recvd), "bytes-received")
}
