package badgerstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/folio-db/folio/objects"
)

// BenchmarkSweep: a sweep (no mark, no reclaim) of a store holding a
// garbage history of FOLIO_BENCH_SWEEP_COMMITS commits (default 20,000:
// about 240,000 objects, sweepHistory) beside 100,000 live 1 KiB
// documents (sweepDoc), each round on a fresh copy of one store. It
// reports the time per object deleted. (The sweep's own memory is
// bounded by design, sweeporder.go; the heap's peak is Badger's.)
func BenchmarkSweep(b *testing.B) {
	commits := 20_000
	if v := os.Getenv("FOLIO_BENCH_SWEEP_COMMITS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("FOLIO_BENCH_SWEEP_COMMITS=%q: want a positive number", v)
		}
		commits = n
	}
	ctx := context.Background()
	src := filepath.Join(b.TempDir(), "store")
	s, err := Open(src, Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	garbage := len(sweepHistory(b, s, commits))
	live := map[objects.ID]bool{}
	var objs []objects.Object
	for i := range 100_000 {
		o := objects.EncodeBlob(sweepDoc(i, 99)) // a j no garbage document has
		live[o.ID] = true
		if objs = append(objs, o); len(objs) == 5000 {
			if err := s.Put(ctx, objs...); err != nil {
				b.Fatal(err)
			}
			objs = objs[:0]
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), fmt.Sprint(i))
		if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
			b.Fatal(err)
		}
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		c, err := s.BeginCollection(ctx, 0, false)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st, err := c.Sweep(ctx, func(id objects.ID) bool { return live[id] }, false, nil)
		b.StopTimer()
		if err != nil || st.Objects != garbage {
			b.Fatalf("swept %d objects of %d: %v", st.Objects, garbage, err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*garbage), "ns/object")
	b.ReportMetric(float64(garbage), "objects")
}

// BenchmarkEntrySorter: the sweep's order for 2,000,000 objects (what a
// sweep of millions holds): sorted through files, reported with the peak
// of the live heap while it runs, which stays near one run (3 MiB) and
// the merge's buffers where a slice of all of them would take 96 MiB.
func BenchmarkEntrySorter(b *testing.B) {
	const n = 2_000_000
	var peak uint64
	for range b.N {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		s := newEntrySorter(b.TempDir())
		high := func() {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc-min(m.HeapAlloc, base.HeapAlloc))
		}
		for i := range n {
			e := sweepEntry{rank: uint64(i%7) << 56, id: objects.Hash(binary.BigEndian.AppendUint64(nil, uint64(i))), size: int64(i)}
			if err := s.add(e); err != nil {
				b.Fatal(err)
			}
			if i%(1<<16) == 0 {
				high()
			}
		}
		i := 0
		err := eachEntry(s, func(sweepEntry) error {
			if i++; i%(1<<16) == 0 {
				high()
			}
			return nil
		})
		if err != nil || i != n {
			b.Fatalf("read back %d of %d: %v", i, n, err)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/object")
}
