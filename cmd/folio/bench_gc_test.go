//go:build unix

package main

// Benchmarks of folio gc (issue 9), beside git gc on the same workload.
// FOLIO_BENCH_GC_WRITES overrides the number of document writes (100,000)
// and FOLIO_BENCH_GC_DOCS the size of the memory benchmark's repository
// (1,000,000 documents; it takes a few minutes and about 2 GB of disk).

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
	"github.com/folio-db/folio/objects/repo"
)

func envInt(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	return def
}

// gcDoc is version v of document k of the write workload: about 1 KiB of
// JSON that compresses about as well as real documents do (2x, not the
// 50x of a padding of zeros, which would flatter every store).
func gcDoc(k, v int) []byte {
	rng := rand.New(rand.NewPCG(uint64(k), uint64(v)))
	doc := fmt.Appendf(nil, `{"key":%d,"version":%d,"words":"`, k, v)
	for len(doc) < 1000 {
		doc = strconv.AppendUint(doc, rng.Uint64()>>(rng.Uint64()%40), 16)
		doc = append(doc, ' ')
	}
	return append(doc, `"}`...)
}

// BenchmarkGCDocWrites: a repository that took N document writes the way
// the document API makes them (one commit per write, 1 KiB documents over
// 1,000 keys, plus one refused write in 20 that leaves its document
// behind), then folio gc --prune=now. It reports the size before and
// after, the gc's time and peak memory, and, for scale, the same objects
// copied into a fresh store (what a clone holds), an import of the final
// 1,000 documents alone, and git with a commit per write before and after
// git gc --prune=now.
func BenchmarkGCDocWrites(b *testing.B) {
	skipUnlessBench(b)
	writes := envInt(b, "FOLIO_BENCH_GC_WRITES", 100_000)
	const keys = 1000
	for range b.N {
		dir := b.TempDir()
		ctx := context.Background()
		r, err := repo.Init(ctx, filepath.Join(dir, "folio"), "", repo.Options{})
		if err != nil {
			b.Fatal(err)
		}
		branch := objects.BranchPrefix + repo.DefaultBranch
		sig := objects.Signature{Name: "Bench", Email: "bench@example.com"}
		start := time.Now()
		for i := range writes {
			content := gcDoc(i%keys, i/keys)
			obj, e, _ := repo.EncodeSmallDocument(content)
			if i%20 == 19 { // refused after its document was stored
				orphan, _, _ := repo.EncodeSmallDocument(append(content, ' '))
				if err := r.Store().Put(ctx, orphan); err != nil {
					b.Fatal(err)
				}
			}
			if err := r.Store().Put(ctx, obj); err != nil {
				b.Fatal(err)
			}
			_, err := r.CommitEdits(ctx, branch, []repo.Edit{{Key: fmt.Sprintf("docs/%04d.json", i%keys), Entry: e}},
				repo.CommitOptions{Author: sig, Time: time.Unix(1_800_000_000+int64(i), 0).UTC(), Message: "put"}, nil)
			if err != nil {
				b.Fatal(err)
			}
		}
		writeTime := time.Since(start)
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		folioDir := filepath.Join(dir, "folio")
		before, err := repo.DiskUsage(filepath.Join(folioDir, repo.DirName))
		if err != nil {
			b.Fatal(err)
		}
		gc, gcAnon, err := runProcAnon(benchFolio(folioDir, "gc", "--prune=now", "--json"))
		if err != nil {
			b.Fatal(err)
		}
		after, err := repo.DiskUsage(filepath.Join(folioDir, repo.DirName))
		if err != nil {
			b.Fatal(err)
		}
		copied := freshCopy(b, filepath.Join(folioDir, repo.DirName, "db"), filepath.Join(dir, "copy"))
		final := importFinal(b, dir, keys, writes)
		gitBefore, gitAfter, gitGC := gitGCWorkload(b, dir, keys, writes)

		b.Logf("%d writes in %s; folio gc: %s", writes, writeTime.Round(time.Millisecond), gc.stdout)
		b.ReportMetric(float64(before)/(1<<20), "before-MiB")
		b.ReportMetric(float64(after)/(1<<20), "after-MiB")
		b.ReportMetric(float64(copied)/(1<<20), "fresh-copy-MiB")
		b.ReportMetric(float64(after)/float64(copied), "after/fresh-copy")
		b.ReportMetric(float64(final)/(1<<20), "final-import-MiB")
		b.ReportMetric(gc.wall.Seconds(), "gc-s")
		b.ReportMetric(float64(gcAnon)/1024, "gc-peak-anon-MiB")
		b.ReportMetric(float64(gitBefore)/(1<<20), "git-before-MiB")
		b.ReportMetric(float64(gitAfter)/(1<<20), "git-after-MiB")
		b.ReportMetric(gitGC.wall.Seconds(), "git-gc-s")
		b.ReportMetric(gc.wall.Seconds()/gitGC.wall.Seconds(), "gc/git-gc")
	}
}

// freshCopy writes every object of the store in src into a new store in
// dst, in ID order as a clone does, and returns its size once closed.
func freshCopy(b *testing.B, src, dst string) int64 {
	ctx := context.Background()
	from, err := badgerstore.Open(src, badgerstore.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer from.Close()
	to, err := badgerstore.Open(dst, badgerstore.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	var batch []objects.Object
	size := 0
	flush := func() error {
		err := to.Put(ctx, batch...)
		batch, size = nil, 0
		return err
	}
	err = from.Objects(ctx, nil, func(id objects.ID, data []byte) error {
		batch = append(batch, objects.Object{ID: id, Data: append([]byte(nil), data...)})
		if size += len(data); size >= 16<<20 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = to.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	n, err := repo.DiskUsage(dst)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// importFinal imports the final version of every key into a new
// repository with folio import and returns the size of its .folio folder.
func importFinal(b *testing.B, dir string, keys, writes int) int64 {
	files := filepath.Join(dir, "final", "docs")
	if err := os.MkdirAll(files, 0o755); err != nil {
		b.Fatal(err)
	}
	for k := range keys {
		last := writes - 1 - (writes-1-k+keys)%keys // the last i with i%keys == k
		if err := os.WriteFile(filepath.Join(files, fmt.Sprintf("%04d.json", k)), gcDoc(k, last/keys), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	repoDir := filepath.Join(dir, "final-repo")
	os.MkdirAll(repoDir, 0o755)
	if _, _, err := runSeq(benchFolio(repoDir, "init"), benchFolio(repoDir, "import", files, "--prefix", "docs"),
		benchFolio(repoDir, "commit", "-m", "final")); err != nil {
		b.Fatal(err)
	}
	n, err := repo.DiskUsage(filepath.Join(repoDir, repo.DirName))
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// gitGCWorkload makes the same writes as commits in git (with git
// fast-import, one commit per write) and times git gc --prune=now.
func gitGCWorkload(b *testing.B, dir string, keys, writes int) (before, after int64, gc procRun) {
	gitDir, work := filepath.Join(dir, "git", ".git"), filepath.Join(dir, "git")
	os.MkdirAll(work, 0o755)
	if _, err := runProc(benchGit(gitDir, work, "init", "-q")); err != nil {
		b.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	imp := benchGit(gitDir, work, "fast-import", "--quiet")
	imp.Stdin = pr
	if err := imp.Start(); err != nil {
		b.Fatal(err)
	}
	pr.Close()
	go func() {
		defer pw.Close()
		for i := range writes {
			content := gcDoc(i%keys, i/keys)
			fmt.Fprintf(pw, "commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata 3\nput\n", 1_800_000_000+i)
			fmt.Fprintf(pw, "M 100644 inline docs/%04d.json\ndata %d\n%s\n", i%keys, len(content), content)
		}
	}()
	if err := imp.Wait(); err != nil {
		b.Fatal(err)
	}
	if before, err = repo.DiskUsage(gitDir); err != nil {
		b.Fatal(err)
	}
	if gc, err = runProc(benchGit(gitDir, work, "gc", "--prune=now", "--quiet")); err != nil {
		b.Fatal(err)
	}
	if after, err = repo.DiskUsage(gitDir); err != nil {
		b.Fatal(err)
	}
	return before, after, gc
}

// BenchmarkGCMemory: the peak memory of folio gc --prune=now on a
// repository of N documents (one commit) with N/10 unreachable ones
// (FOLIO_BENCH_GC_GARBAGE_EVERY=3: N/3, enough for gc to rewrite the
// tables). Target: under 256 MiB at 1,000,000 documents.
func BenchmarkGCMemory(b *testing.B) {
	skipUnlessBench(b)
	docs := envInt(b, "FOLIO_BENCH_GC_DOCS", 1_000_000)
	every := envInt(b, "FOLIO_BENCH_GC_GARBAGE_EVERY", 10)
	for range b.N {
		dir := b.TempDir()
		ctx := context.Background()
		r, err := repo.Init(ctx, dir, "", repo.Options{})
		if err != nil {
			b.Fatal(err)
		}
		branch := objects.BranchPrefix + repo.DefaultBranch
		const batch = 50_000
		for lo := 0; lo < docs; lo += batch {
			var objs []objects.Object
			var edits []repo.Edit
			for i := lo; i < min(lo+batch, docs); i++ {
				obj, e, _ := repo.EncodeSmallDocument(gcDoc(i, 0))
				garbage, _, _ := repo.EncodeSmallDocument(gcDoc(i, 1))
				objs = append(objs, obj)
				if i%every == 0 {
					objs = append(objs, garbage)
				}
				edits = append(edits, repo.Edit{Key: fmt.Sprintf("d/%07d.json", i), Entry: e})
			}
			if err := r.Store().Put(ctx, objs...); err != nil {
				b.Fatal(err)
			}
			if _, err := r.StageEdits(ctx, branch, edits); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := r.Commit(ctx, branch, repo.CommitOptions{Message: "all",
			Author: objects.Signature{Name: "Bench", Email: "bench@example.com"}, Time: time.Unix(1_800_000_000, 0)}); err != nil {
			b.Fatal(err)
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		gc, anon, err := runProcAnon(benchFolio(dir, "gc", "--prune=now", "--json"))
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%d documents: %s", docs, gc.stdout)
		b.ReportMetric(gc.wall.Seconds(), "gc-s")
		b.ReportMetric(gc.cpu.Seconds(), "gc-cpu-s")
		b.ReportMetric(float64(anon)/1024, "gc-peak-anon-MiB")
	}
}

// runProcAnon runs cmd like runProc and samples its anonymous memory (the
// heap and stacks, not the table files Badger maps, which the kernel may
// drop at will): its peak in KiB. The process's maxrss would not do: it
// counts those mapped files, and a child inherits its parent's peak.
func runProcAnon(cmd *exec.Cmd) (procRun, int64, error) {
	var peak atomic.Int64
	done := make(chan struct{})
	cmd.Stdout, cmd.Stderr = new(bytes.Buffer), new(bytes.Buffer)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return procRun{}, 0, err
	}
	go func() {
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			data, _ := os.ReadFile(status)
			for line := range strings.Lines(string(data)) {
				if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
					kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
					peak.Store(max(peak.Load(), kib))
				}
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if err != nil {
		return procRun{}, 0, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, cmd.Stderr.(*bytes.Buffer).Bytes())
	}
	ps := cmd.ProcessState
	return procRun{wall: time.Since(start), cpu: ps.UserTime() + ps.SystemTime(), maxRSSKiB: maxRSSKiB(ps),
		stdout: cmd.Stdout.(*bytes.Buffer).Bytes()}, peak.Load(), nil
}
