package remote_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// The server's memory under load (issue 8: goal under 256 MiB each). Each
// benchmark runs a real server on 127.0.0.1 in this process and reports
// peak-heap-MiB, the most Go heap in use (HeapInuse, sampled every 10 ms)
// while the load ran; the clients read and write as they go, holding
// almost nothing, so the figure is the server's.
//
//	go test -run '^$' -bench ServerHeap -benchtime 1x ./remote/

// heapPeaks are the most heap a load took: in use (HeapInuse: live
// objects and garbage not yet collected) and live (what the last
// collection found reachable: what the server needed).
type heapPeaks struct{ inuse, live uint64 }

// peakHeap runs fn and returns the peaks of the heap while it ran.
func peakHeap(fn func() error) (heapPeaks, error) {
	runtime.GC()
	var peak heapPeaks
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			runtime.ReadMemStats(&ms)
			metrics.Read(live)
			peak.inuse = max(peak.inuse, ms.HeapInuse)
			peak.live = max(peak.live, live[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	err := fn()
	close(stop)
	<-sampled
	return peak, err
}

// reportPeak reports the peaks; the benchmark runs under the soft memory
// limit folio serve sets for one repository.
func reportPeak(b *testing.B, peak heapPeaks) {
	b.ReportMetric(float64(peak.inuse)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak.live)/(1<<20), "peak-live-MiB")
}

// asServer gives the benchmark the memory settings of folio serve with
// open repositories open at once (server.TuneMemory), until it ends.
func asServer(b *testing.B, open int) {
	limit, gc := debug.SetMemoryLimit(-1), debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	server.TuneMemory(0, server.DefaultCacheBytes, open)
	b.Cleanup(func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(gc)
	})
}

// envInt is an environment variable's number, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// longHistory commits n commits on main, each changing one document, with
// batched writes (a commit a transaction would take minutes).
func longHistory(b *testing.B, r *repo.Repo, n int) objects.ID {
	b.Helper()
	ctx := context.Background()
	var batch []objects.Object
	var tip objects.ID
	for i := range n {
		blob, entry, _ := repo.EncodeSmallDocument(benchDoc(i, 0, 200))
		if err := r.Store().Put(ctx, blob); err != nil {
			b.Fatal(err)
		}
		index, err := r.Tree().Build(ctx, func(yield func(string, objects.Entry) bool) {
			yield("doc.json", entry)
		})
		if err != nil {
			b.Fatal(err)
		}
		c := objects.Commit{Index: index, Height: uint64(i + 1), Author: benchAuthor,
			Time: benchEpoch.Add(time.Duration(i) * time.Second), Message: fmt.Sprint("commit ", i)}
		c.CommitTime = c.Time
		if i > 0 {
			c.Parents = []objects.ID{tip}
		}
		obj := c.Encode()
		tip = obj.ID
		if batch = append(batch, obj); len(batch) == 10_000 || i == n-1 {
			if err := r.Store().Put(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: benchBranch, New: tip}); err != nil {
		b.Fatal(err)
	}
	return tip
}

// BenchmarkServerHeapClone200k serves a clone (a fetch with no haves) of a
// 200,000-commit history (FOLIO_BENCH_CLONE_COMMITS to change it). Most of
// its live heap is the block cache filling.
func BenchmarkServerHeapClone200k(b *testing.B) {
	skipShort(b)
	asServer(b, 1)
	n := envInt("FOLIO_BENCH_CLONE_COMMITS", 200_000)
	// FOLIO_BENCH_CLONE_DIR keeps the history there for the next run
	// (building it takes minutes); it must be new or made with the same n.
	top := os.Getenv("FOLIO_BENCH_CLONE_DIR")
	if top == "" {
		top = b.TempDir()
	}
	dir := filepath.Join(top, repo.DirName)
	if _, err := os.Stat(dir); err != nil {
		r, err := repo.Init(context.Background(), top, "", repo.Options{})
		if err != nil {
			b.Fatal(err)
		}
		longHistory(b, r, n)
		if dir = r.Dir(); r.Close() != nil {
			b.Fatal("closing the history")
		}
	}
	// FOLIO_BENCH_CACHE_BYTES: the block cache (serve --cache-bytes).
	cache := envInt("FOLIO_BENCH_CACHE_BYTES", server.DefaultCacheBytes)
	r, err := repo.Open(context.Background(), dir, repo.Options{CacheBytes: int64(cache)})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(r)}))
	defer srv.Close()
	for range b.N {
		c, err := client.New(srv.URL+"/", client.Options{})
		if err != nil {
			b.Fatal(err)
		}
		objs := 0
		start := time.Now()
		peak, err := peakHeap(func() error {
			req := wire.FetchRequest{Prefixes: []string{objects.BranchPrefix}}
			return c.Fetch(context.Background(), req, wire.Limits{}, func(_ *wire.FetchResponse, pr *wire.PackReader) error {
				for {
					if _, err := pr.Next(); errors.Is(err, io.EOF) {
						return nil
					} else if err != nil {
						return err
					}
					objs++
				}
			})
		})
		if err != nil {
			b.Fatal(err)
		}
		if objs < 3*n {
			b.Fatalf("the clone sent %d objects, want at least %d", objs, 3*n)
		}
		reportPeak(b, peak)
		b.ReportMetric(float64(n), "commits")
		b.ReportMetric(time.Since(start).Seconds(), "clone-s")
	}
}

// randomBody is size bytes no two writers share, made as they are read.
func randomBody(seed uint64, size int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), size)
}

// BenchmarkServerHeapPuts sends 100 concurrent 10 MB document PUTs to one
// repository; every one is taken.
func BenchmarkServerHeapPuts(b *testing.B) {
	skipShort(b)
	asServer(b, 1)
	writers, size := envInt("FOLIO_BENCH_PUT_WRITERS", 100), int64(10<<20)
	r, err := repo.Init(context.Background(), b.TempDir(), "", repo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchCommit(b, r, 0, 100, 0)
	r = asServed(b, r)
	srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(r), Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		Limits: server.Limits{RequestTimeout: 30 * time.Minute}})) // 1 GB on a busy machine
	defer srv.Close()
	for i := range b.N {
		start := time.Now()
		peak, err := peakHeap(func() error {
			errs := make(chan error, writers)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					url := fmt.Sprintf("%s/%s/big/%d-%d.bin", srv.URL, wire.PathDocs, i, w)
					req, err := http.NewRequest(http.MethodPut, url, randomBody(uint64(i*writers+w), size))
					if err != nil {
						errs <- err
						return
					}
					req.ContentLength = size
					resp, err := http.DefaultClient.Do(req)
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode != http.StatusCreated {
							err = fmt.Errorf("PUT %d: status %d", w, resp.StatusCode)
						}
					}
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			var all []error
			for err := range errs {
				all = append(all, err)
			}
			return errors.Join(all...)
		})
		if err != nil {
			b.Fatal(err)
		}
		reportPeak(b, peak)
		b.ReportMetric(time.Since(start).Seconds(), "puts-s")
	}
}

// copyTree copies a folder of regular files.
func copyTree(dst, src string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
}

// BenchmarkServerHeapRoot1000 serves a folder of 1,000 repositories with
// serve --root's defaults and reads a document from each once, 8 at a
// time.
func BenchmarkServerHeapRoot1000(b *testing.B) {
	skipShort(b)
	asServer(b, server.DefaultMaxOpen)
	const repos, conc = 1000, 8
	dir := b.TempDir()
	first, err := repo.Init(context.Background(), filepath.Join(dir, "r0000"), "", repo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchCommit(b, first, 0, 100, 0)
	if err := first.Close(); err != nil {
		b.Fatal(err)
	}
	for i := 1; i < repos; i++ {
		if err := copyTree(filepath.Join(dir, fmt.Sprintf("r%04d", i)), filepath.Join(dir, "r0000")); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		root := server.Root(dir, func(ctx context.Context, dir string) (*repo.Repo, error) {
			return repo.Open(ctx, dir, repo.Options{CacheBytes: server.DefaultCacheBytes})
		}, server.RootOptions{})
		srv := httptest.NewServer(server.New(server.Options{Repos: root}))
		var busy atomic.Int64
		start := time.Now()
		peak, err := peakHeap(func() error {
			next := make(chan int)
			var mu sync.Mutex
			var errs []error
			var wg sync.WaitGroup
			for range conc {
				wg.Go(func() {
					for i := range next {
						if err := touch(srv.URL, i, &busy); err != nil {
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
						}
					}
				})
			}
			for i := range repos {
				next <- i
			}
			close(next)
			wg.Wait()
			return errors.Join(errs...)
		})
		srv.Close()
		if cerr := root.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		reportPeak(b, peak)
		b.ReportMetric(float64(busy.Load()), "busy-replies")
		b.ReportMetric(time.Since(start).Seconds(), "touch-s")
	}
}

// touch reads a document of repository i, counting 503 busy replies.
func touch(base string, i int, busy *atomic.Int64) error {
	resp, err := http.Get(fmt.Sprintf("%s/r%04d/%s/%s", base, i, wire.PathDocs, benchKey(0)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusServiceUnavailable:
		busy.Add(1)
		return nil
	}
	return fmt.Errorf("r%04d: status %d", i, resp.StatusCode)
}
