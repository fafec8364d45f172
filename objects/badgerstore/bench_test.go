package badgerstore

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// The benchmarks import benchDocs generated JSON documents of ~1 KiB
// (docs_test.go) and measure what a CLI user feels: import time, random
// reads, the cost of one `folio get` (open, read, close), disk use and
// peak memory. Run them with
//
//	go test -run '^$' -bench . -benchtime 3x ./objects/badgerstore/
//
// and FOLIO_BENCH_GIT=1 to compare disk use with git's for the same files.
const (
	benchDocs  = 100_000
	benchBatch = 1000 // objects per Put, as an importer would send them
)

// importDocs puts documents [0, n) in batches and closes the store.
func importDocs(ctx context.Context, dir string, n int) error {
	s, err := Open(dir, Options{Create: true})
	if err != nil {
		return err
	}
	batch := make([]objects.Object, 0, benchBatch)
	for i := range n {
		batch = append(batch, docBlob(i))
		if len(batch) == cap(batch) || i == n-1 {
			if err := s.Put(ctx, batch...); err != nil {
				s.Close()
				return err
			}
			batch = batch[:0]
		}
	}
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", New: docBlob(n - 1).ID}); err != nil {
		s.Close()
		return err
	}
	return s.Close()
}

// leafImportEnv has the "import" helper load the documents as a first
// import does (leafImportDocs).
const leafImportEnv = "BADGERSTORE_IMPORT_LEAF"

// leafImportDocs creates a store, closes it, and opens it again to
// leaf-load n documents in batches, as 'folio init' and a first
// 'folio import' do.
func leafImportDocs(ctx context.Context, dir string, n int) error {
	s, err := Open(dir, Options{Create: true})
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	if s, err = Open(dir, Options{}); err != nil {
		return err
	}
	defer s.Close()
	load, _, err := s.LeafLoad(ctx)
	if err != nil {
		return err
	}
	batch := make([]objects.Object, 0, benchBatch*8) // about 8 MiB, as an import puts
	for i := range n {
		batch = append(batch, docBlob(i))
		if len(batch) == cap(batch) || i == n-1 {
			if err := load.Put(ctx, batch...); err != nil {
				load.Discard()
				return err
			}
			batch = batch[:0]
		}
	}
	if err := load.Finish(ctx); err != nil {
		return err
	}
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", New: docBlob(n - 1).ID}); err != nil {
		return err
	}
	return s.Close()
}

// fixture is a store holding benchDocs documents, built once per process
// and removed by TestMain.
var fixture struct {
	once sync.Once
	root string
	dir  string
	err  error
}

func importedStore(b *testing.B) string {
	b.Helper()
	fixture.once.Do(func() {
		fixture.root, fixture.err = os.MkdirTemp("", "badgerstore-bench-")
		if fixture.err == nil {
			fixture.dir = filepath.Join(fixture.root, "store")
			fixture.err = importDocs(context.Background(), fixture.dir, benchDocs)
		}
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.dir
}

func removeFixtures() {
	if fixture.root != "" {
		os.RemoveAll(fixture.root)
	}
	if indexed.tmp != "" {
		os.RemoveAll(indexed.tmp)
	}
}

// diskUsage returns the apparent size of the files under dir (what
// `du -sb` reports) and the space they take on disk (`du -s`).
func diskUsage(tb testing.TB, dir string) (apparent, allocated int64) {
	tb.Helper()
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		apparent += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			allocated += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return apparent, allocated
}

// benchDocBlobs returns benchDocs documents and sets b's bytes to theirs.
func benchDocBlobs(b *testing.B) ([]objects.Object, int64) {
	docs := make([]objects.Object, benchDocs)
	var size int64
	for i := range docs {
		docs[i] = docBlob(i)
		size += int64(len(docs[i].Data))
	}
	b.SetBytes(size)
	return docs, size
}

// BenchmarkPut imports benchDocs documents into a new store, in Puts of
// benchBatch, and closes it. Reports the disk use after Close.
func BenchmarkPut(b *testing.B) {
	docs, size := benchDocBlobs(b)
	ctx := context.Background()
	var apparent, allocated int64
	var putTime, closeTime time.Duration
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "store")
		start := time.Now()
		s := openTemp(b, dir, Options{Create: true})
		for start := 0; start < len(docs); start += benchBatch {
			if err := s.Put(ctx, docs[start:min(start+benchBatch, len(docs))]...); err != nil {
				b.Fatal(err)
			}
		}
		closing := time.Now()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		putTime += closing.Sub(start)
		closeTime += time.Since(closing)
		apparent, allocated = diskUsage(b, dir)
	}
	// Close waits for compaction to catch up (Store.settle): report the
	// two parts apart.
	b.ReportMetric(putTime.Seconds()/float64(b.N), "put-s/op")
	b.ReportMetric(closeTime.Seconds()/float64(b.N), "close-s/op")
	b.ReportMetric(float64(apparent)/1e6, "disk-MB")
	b.ReportMetric(float64(allocated)/1e6, "disk-alloc-MB")
	b.ReportMetric(float64(apparent)/float64(size), "disk/raw")
}

// BenchmarkPutOne is the cost of one Put of one small object: one
// synced write.
func BenchmarkPutOne(b *testing.B) {
	s := openTemp(b, filepath.Join(b.TempDir(), "store"), Options{Create: true})
	defer s.Close()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if err := s.Put(ctx, docBlob(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkUpdateRef is the cost of moving one ref.
func BenchmarkUpdateRef(b *testing.B) {
	s := openTemp(b, filepath.Join(b.TempDir(), "store"), Options{Create: true})
	defer s.Close()
	ctx := context.Background()
	var cur objects.ID
	i := 0
	for b.Loop() {
		next := docBlob(i).ID
		if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", Old: cur, New: next}); err != nil {
			b.Fatal(err)
		}
		cur = next
		i++
	}
}

// BenchmarkFeedMoves reads the change feed as a peer following it does
// at each branch move: the move just made ("next"), then once more to
// find it caught up ("caught-up"), from a feed of 2,000 moves.
func BenchmarkFeedMoves(b *testing.B) {
	s := openTemp(b, filepath.Join(b.TempDir(), "store"), Options{Create: true})
	defer s.Close()
	ctx := context.Background()
	var cur objects.ID
	for i := range 2000 {
		next := docBlob(i).ID
		if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: "refs/heads/main", Old: cur, New: next}); err != nil {
			b.Fatal(err)
		}
		cur = next
	}
	for _, bc := range []struct {
		name  string
		since uint64
		want  int
	}{{"next", 1999, 1}, {"caught-up", 2000, 0}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				moves, _, err := s.Moves(ctx, bc.since, 100)
				if err != nil || len(moves) != bc.want {
					b.Fatalf("%d moves, %v; want %d", len(moves), err, bc.want)
				}
			}
		})
	}
}

// BenchmarkGetRandom reads random documents of the imported store.
func BenchmarkGetRandom(b *testing.B) {
	s := openTemp(b, importedStore(b), Options{ReadOnly: true})
	defer s.Close()
	ids := make([]objects.ID, benchDocs)
	for i := range ids {
		ids[i] = docBlob(i).ID
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Get(ctx, ids[rng.IntN(len(ids))]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenGetClose is the store's part of `folio get`: open the
// imported store read-only, read one document, close.
func BenchmarkOpenGetClose(b *testing.B) {
	openGetCloseLoop(b, importedStore(b))
}

// openGetCloseLoop opens the store at dir read-only, reads one document
// and closes it, b.N times.
func openGetCloseLoop(b *testing.B, dir string) {
	ctx := context.Background()
	i := 0
	for b.Loop() {
		s := openTemp(b, dir, Options{ReadOnly: true})
		if _, err := s.Get(ctx, docBlob(i*7919%benchDocs).ID); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkCheckListedTables is what checkListedTables (tablecheck.go)
// adds to every open of the imported store: each listed table opened once
// more, in memory, before Badger opens it.
func BenchmarkCheckListedTables(b *testing.B) {
	dir := importedStore(b)
	listed, err := manifestTables(dir, badgerOptions(dir, true, nil, 0))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := checkListedTables(dir, listed); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(listed)), "tables")
}

// BenchmarkOpenGetCloseTableCheck is BenchmarkOpenGetClose with and
// without checkListedTables, in turns, to compare in one run.
func BenchmarkOpenGetCloseTableCheck(b *testing.B) {
	dir := importedStore(b)
	for round := range 3 {
		for _, skip := range []bool{true, false} {
			name := fmt.Sprintf("checked=%t/round=%d", !skip, round)
			b.Run(name, func(b *testing.B) {
				skipTableCheck = skip
				defer func() { skipTableCheck = false }()
				openGetCloseLoop(b, dir)
			})
		}
	}
}

// BenchmarkProcessGet is `folio get` as the store sees it: a new process
// that opens the imported store read-only, reads one document and closes
// it; "nothing" is the same process doing nothing, to subtract.
func BenchmarkProcessGet(b *testing.B) {
	dir := importedStore(b)
	for _, role := range []string{"nothing", "get-one"} {
		b.Run(role, func(b *testing.B) {
			for b.Loop() {
				if out, err := helperCmd(role, dir).CombinedOutput(); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
			}
		})
	}
}

// getOne opens the store read-only, reads one document and closes it.
func getOne(dir string) error {
	s, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		return err
	}
	if _, err := s.Get(context.Background(), docBlob(4242).ID); err != nil {
		s.Close()
		return err
	}
	return s.Close()
}

// BenchmarkImportMemory imports benchDocs documents in a fresh process
// and reports its peak resident memory (VmHWM: heap, stacks and the
// mapped pages of Badger's files), its peak anonymous memory, and the
// disk use after Close; once with Go's default garbage collector
// settings and once with the soft memory limit a CLI can set. The leaf
// variants load the documents into a new store as a first import does
// (LeafLoad), under the heap limit of 'folio import'.
func BenchmarkImportMemory(b *testing.B) {
	for _, env := range [][]string{
		{"GOMEMLIMIT=off"}, {"GOMEMLIMIT=150MiB"},
		{"GOMEMLIMIT=96MiB", leafImportEnv + "=1"}, {"GOMEMLIMIT=off", leafImportEnv + "=1"},
	} {
		name := env[0]
		if len(env) > 1 {
			name = "leaf/" + name
		}
		b.Run(name, func(b *testing.B) {
			var hwm, anon, apparent float64
			for b.Loop() {
				dir := filepath.Join(b.TempDir(), "store")
				out, err := helperCmd("import", dir, env...).Output()
				if err != nil {
					b.Fatalf("import process: %v\n%s", err, out)
				}
				if _, err := fmt.Sscanf(string(out), "hwm %f anon %f", &hwm, &anon); err != nil {
					b.Fatalf("import process printed %q: %v", out, err)
				}
				a, _ := diskUsage(b, dir)
				apparent = float64(a)
			}
			b.ReportMetric(hwm/1024, "peak-RSS-MiB")
			b.ReportMetric(anon/1024, "peak-anon-MiB")
			b.ReportMetric(apparent/1e6, "disk-MB")
		})
	}
}

// runImport is the import process: it prints its peak RSS (VmHWM) and
// the peak of its anonymous memory sampled during the import, in KiB.
func runImport(dir string) error {
	n := benchDocs
	if env := os.Getenv("BADGERSTORE_IMPORT_DOCS"); env != "" {
		var err error
		if n, err = strconv.Atoi(env); err != nil {
			return err
		}
	}
	stop := make(chan struct{})
	peakAnon := make(chan int64)
	go func() {
		var peak int64
		for {
			peak = max(peak, procStatus("RssAnon"))
			select {
			case <-stop:
				peakAnon <- peak
				return
			default:
				syscall.Nanosleep(&syscall.Timespec{Nsec: 10e6}, nil)
			}
		}
	}()
	load := importDocs
	if os.Getenv(leafImportEnv) != "" {
		load = leafImportDocs
	}
	err := load(context.Background(), dir, n)
	close(stop)
	anon := <-peakAnon
	if err != nil {
		return err
	}
	fmt.Printf("hwm %d anon %d\n", procStatus("VmHWM"), anon)
	return nil
}

// procStatus reads a "Name: value kB" line of /proc/self/status.
func procStatus(name string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v
		}
	}
	return -1
}

// BenchmarkGitSize compares the imported store's size with git's for the
// same documents: one file each, committed, packed with `git gc`. It takes
// a minute, so it runs only with FOLIO_BENCH_GIT=1.
func BenchmarkGitSize(b *testing.B) {
	if os.Getenv("FOLIO_BENCH_GIT") != "1" {
		b.Skip("set FOLIO_BENCH_GIT=1 to compare with git")
	}
	store, _ := diskUsage(b, importedStore(b))
	var git int64
	for b.Loop() {
		work := b.TempDir()
		for i := range benchDocs {
			name := filepath.Join(work, fmt.Sprintf("doc-%06d.json", i))
			if err := os.WriteFile(name, jsonDoc(i), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		for _, args := range [][]string{
			{"init", "-q"},
			{"add", "-A"},
			{"-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "gc.auto=0", "commit", "-q", "-m", "x"},
			{"gc", "-q"},
		} {
			cmd := exec.Command("git", args...)
			cmd.Dir = work
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		git, _ = diskUsage(b, filepath.Join(work, ".git"))
	}
	b.ReportMetric(float64(git)/1e6, "git-MB")
	b.ReportMetric(float64(store)/1e6, "store-MB")
	b.ReportMetric(float64(store)/float64(git), "store/git")
}

// BenchmarkQuarantinePromote is a clone's store work: benchDocs documents
// put into a quarantine in Puts of 16 MiB (as transfer.Receive sends
// them; past quarantineMemory they spill into the database), then
// promoted with one ref, and the store closed.
func BenchmarkQuarantinePromote(b *testing.B) {
	docs, _ := benchDocBlobs(b)
	ctx := context.Background()
	var putTime, promoteTime, closeTime []time.Duration
	for b.Loop() {
		s := openTemp(b, filepath.Join(b.TempDir(), "store"), Options{Create: true})
		start := time.Now()
		q, err := s.Quarantine(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for lo := 0; lo < len(docs); {
			hi, batched := lo, 0
			for hi < len(docs) && batched < 16<<20 {
				batched += len(docs[hi].Data)
				hi++
			}
			if err := q.Put(ctx, docs[lo:hi]...); err != nil {
				b.Fatal(err)
			}
			lo = hi
		}
		promoting := time.Now()
		keep := func(objects.ID) bool { return true }
		if err := q.Promote(ctx, keep, objects.RefUpdate{Name: "refs/heads/main", New: docs[0].ID}); err != nil {
			b.Fatal(err)
		}
		closing := time.Now()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		putTime = append(putTime, promoting.Sub(start))
		promoteTime = append(promoteTime, closing.Sub(promoting))
		closeTime = append(closeTime, time.Since(closing))
	}
	b.ReportMetric(medianDuration(putTime).Seconds(), "put-s")
	b.ReportMetric(medianDuration(promoteTime).Seconds(), "promote-s")
	b.ReportMetric(medianDuration(closeTime).Seconds(), "close-s")
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
