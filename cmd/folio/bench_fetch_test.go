//go:build unix

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// BenchmarkFetchVsGit: whole-process fetches into a clone of the imported
// corpus, folio over HTTP from a `folio serve` on 127.0.0.1 against git
// from a local path (upload-pack over a pipe, no network): the fetch of
// one new commit that changed one document, and a fetch that finds
// nothing new. Each round commits the change on both sources first
// (untimed), then runs the four fetches interleaved, taking turns to go
// first. Targets: folio's fetch of one commit <= 30 ms, no-op <= 15 ms.
//
//	go test -run '^$' -bench FetchVsGit -benchtime 1x -timeout 30m ./cmd/folio/
func BenchmarkFetchVsGit(b *testing.B) {
	skipUnlessBench(b)
	r := sharedRepos(b)
	c := r.corpus
	dir := b.TempDir()

	url := serveForBench(b, r.folio)
	folioClone := filepath.Join(dir, "folio-clone")
	if _, err := runProc(benchFolio(dir, "clone", url, folioClone)); err != nil {
		b.Fatal(err)
	}
	gitSrc, gitClone := filepath.Join(dir, "git-src"), filepath.Join(dir, "git-clone.git")
	for _, cmd := range []*exec.Cmd{
		exec.Command("git", "clone", "-q", r.gitDir, gitSrc),
		exec.Command("git", "clone", "-q", "--bare", gitSrc, gitClone),
	} {
		cmd.Env = benchGitEnv()
		if _, err := runProc(cmd); err != nil {
			b.Fatal(err)
		}
	}
	gitSrcDir := filepath.Join(gitSrc, ".git")
	gitFetch := func() *exec.Cmd {
		return benchGit(gitClone, dir, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*")
	}
	folioFetch := func() *exec.Cmd { return benchFolio(folioClone, "fetch", "origin") }

	doc := len(c.names) / 3
	key := c.names[doc]
	var fetch, noop [2]pairProbe // folio, git
	version := 1
	b.ResetTimer()
	for range b.N {
		for round := range readRuns {
			b.StopTimer()
			version++
			data := benchDocument(benchSeed+1, doc, version)
			path := filepath.Join(dir, "doc.json")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(gitSrc, key), data, 0o644); err != nil {
				b.Fatal(err)
			}
			if _, _, err := runSeq(
				benchFolio(r.folio, "put", key, path),
				benchFolio(r.folio, "commit", "-m", "x"),
				benchGit(gitSrcDir, gitSrc, "commit", "-q", "-a", "-m", "x")); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for _, probes := range []*[2]pairProbe{&fetch, &noop} {
				for k := range 2 {
					tool := (round + k) % 2
					cmd := folioFetch()
					if tool == 1 {
						cmd = gitFetch()
					}
					run, err := runProc(cmd)
					if err != nil {
						b.Fatal(err)
					}
					p := &probes[tool]
					p.wall, p.cpu = append(p.wall, run.wall), append(p.cpu, run.cpu)
				}
			}
		}
	}
	b.StopTimer()
	// The clone must have what the source has: a fetch that brought
	// nothing would be fast for the wrong reason.
	want, err := runProc(benchFolio(r.folio, "get", key))
	if err != nil {
		b.Fatal(err)
	}
	got, err := runProc(benchFolio(folioClone, "get", "--rev", "origin/main", key))
	if err != nil {
		b.Fatal(err)
	}
	if string(got.stdout) != string(want.stdout) {
		b.Fatalf("the clone's origin/main does not hold the source's last change of %s", key)
	}
	report := func(name string, p *pairProbe) {
		b.ReportMetric(ms(median(p.wall)), name+"-ms")
		b.ReportMetric(ms(median(p.cpu)), name+"-cpu-ms")
	}
	report("folio-fetch", &fetch[0])
	report("git-fetch", &fetch[1])
	report("folio-noop", &noop[0])
	report("git-noop", &noop[1])
}

// serveForBench starts `folio serve` on the repository in dir for the rest
// of the benchmark and returns its URL.
func serveForBench(b *testing.B, dir string) string {
	b.Helper()
	server := benchFolio(dir, "serve", "--addr", "127.0.0.1:0", "--gc-every", "0")
	if err := server.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		server.Process.Signal(syscall.SIGINT)
		server.Wait()
	})
	waitServed(b, dir)
	data, err := os.ReadFile(filepath.Join(dir, ".folio", servedFile))
	if err != nil {
		b.Fatal(err)
	}
	var info servedInfo
	if err := json.Unmarshal(data, &info); err != nil {
		b.Fatal(err)
	}
	return info.URL
}
