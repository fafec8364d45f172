//go:build unix

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkServed: `folio get` and a one-document `put`+`commit` on the
// corpus's repository (FOLIO_BENCH_DOCS documents, 100,000 by default),
// unserved, then while `folio serve` holds it, when every command goes
// through the server's store API. Real processes, process start included;
// medians of readRuns gets and changeRuns changes. Goal: served within 2x
// of unserved, and under 20 ms. version-ms is the floor: a process that
// starts and opens nothing.
//
//	go test -run '^$' -bench Served -benchtime 1x -timeout 30m ./cmd/folio/
func BenchmarkServed(b *testing.B) {
	if testing.Short() {
		b.Skip("end-to-end benchmark: skipped with -short")
	}
	c := sharedCorpus(b)
	dir := b.TempDir()
	if _, _, err := runSeq(benchFolio(dir, "init"), benchFolio(dir, "import", c.dir), benchFolio(dir, "commit", "-m", "x")); err != nil {
		b.Fatal(err)
	}
	doc := c.names[len(c.names)/2]
	version := 1
	measure := func() (get, change time.Duration) {
		var gets, changes []time.Duration
		for range readRuns {
			r, err := runProc(benchFolio(dir, "get", doc))
			if err != nil {
				b.Fatal(err)
			}
			gets = append(gets, r.wall)
		}
		for range changeRuns {
			version++
			path := filepath.Join(b.TempDir(), "doc.json")
			if err := os.WriteFile(path, benchDocument(benchSeed, len(c.names)/2, version), 0o644); err != nil {
				b.Fatal(err)
			}
			_, total, err := runSeq(benchFolio(dir, "put", doc, path), benchFolio(dir, "commit", "-m", "x"))
			if err != nil {
				b.Fatal(err)
			}
			changes = append(changes, total.wall)
		}
		return median(gets), median(changes)
	}
	b.ResetTimer()
	for range b.N {
		var starts []time.Duration // a process that opens nothing: the floor
		for range readRuns {
			r, err := runProc(benchFolio(dir, "version"))
			if err != nil {
				b.Fatal(err)
			}
			starts = append(starts, r.wall)
		}
		get, change := measure()
		server := benchFolio(dir, "serve", "--addr", "127.0.0.1:0", "--gc-every", "0")
		if err := server.Start(); err != nil {
			b.Fatal(err)
		}
		waitServed(b, dir)
		sget, schange := measure()
		server.Process.Signal(syscall.SIGINT)
		if err := server.Wait(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(median(starts)), "version-ms")
		b.ReportMetric(ms(get), "get-ms")
		b.ReportMetric(ms(sget), "served-get-ms")
		b.ReportMetric(ms(change), "put+commit-ms")
		b.ReportMetric(ms(schange), "served-put+commit-ms")
		b.ReportMetric(float64(sget)/float64(get), "get-served/unserved")
		b.ReportMetric(float64(schange)/float64(change), "put+commit-served/unserved")
	}
}

// waitServed waits for the server of the repository in dir to write its
// serve.json.
func waitServed(b *testing.B, dir string) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var info servedInfo
		data, err := os.ReadFile(filepath.Join(dir, ".folio", servedFile))
		if err == nil && json.Unmarshal(data, &info) == nil && info.URL != "" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatal("folio serve did not start")
}
