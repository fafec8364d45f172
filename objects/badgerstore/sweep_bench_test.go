package badgerstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
