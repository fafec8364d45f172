//go:build unix

package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// commitRuns is how many one-document commits BenchmarkCommitStalls makes
// in a row.
const commitRuns = 100

// BenchmarkCommitStalls: commitRuns consecutive one-document put + commit
// runs (whole processes) on a repository of the imported corpus, as a user
// at a terminal makes them. A storage flush or compaction inside a short
// command shows as a slow run: the targets are a median of at most 35 ms
// and a slowest run of at most 3x the median. It reports the median, the
// 90th percentile and the slowest run, in wall time and in CPU time (user
// + system, steadier on a shared machine), and the largest peak RSS.
func BenchmarkCommitStalls(b *testing.B) {
	skipUnlessBench(b)
	c := sharedCorpus(b)
	var times, cpu []time.Duration
	var rss int64
	for range b.N {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "folio")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if _, _, err := runSeq(benchFolio(dir, "init"), benchFolio(dir, "import", c.dir), benchFolio(dir, "commit", "-m", "x")); err != nil {
			b.Fatal(err)
		}
		doc := filepath.Join(b.TempDir(), "doc.json")
		b.StartTimer()
		for run := range commitRuns {
			b.StopTimer()
			i := (run * 7919) % len(c.names)
			if err := os.WriteFile(doc, benchDocument(benchSeed, i, run+2), 0o644); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			_, total, err := runSeq(benchFolio(dir, "put", c.names[i], doc), benchFolio(dir, "commit", "-m", "x"))
			if err != nil {
				b.Fatal(err)
			}
			times, cpu = append(times, total.wall), append(cpu, total.cpu)
			rss = max(rss, total.maxRSSKiB)
		}
	}
	for _, m := range []struct {
		name, unit string
		runs       []time.Duration
	}{{"wall", "", times}, {"cpu", "cpu-", cpu}} {
		sorted := slices.Sorted(slices.Values(m.runs))
		med, slowest := median(m.runs), sorted[len(sorted)-1]
		b.Logf("slowest runs (%s): %v", m.name, roundAll(sorted[len(sorted)-5:]))
		b.ReportMetric(ms(med), m.unit+"median-ms")
		b.ReportMetric(ms(sorted[len(sorted)*9/10]), m.unit+"p90-ms")
		b.ReportMetric(ms(slowest), m.unit+"max-ms")
		b.ReportMetric(slowest.Seconds()/med.Seconds(), m.unit+"max/median")
	}
	b.ReportMetric(float64(rss)/1024, "maxrss-MiB")
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = rnd(d)
	}
	return out
}
