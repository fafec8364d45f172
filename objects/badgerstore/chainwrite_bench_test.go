package badgerstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// chainWriteSizes are the objects one document API write stores, as
// measured on BenchmarkDocAPI's branch of 10,000 documents of ~1 KiB:
// the blob, the new leaf (about 5.5 KB on average there), the new
// internal node on its path, the new root, the commit. About 10 KB a
// write: the format's, whatever the server does.
var chainWriteSizes = []int{1029, 5500, 3300, 108, 169}

// BenchmarkChainGroupPromote is the store's share of a group of document
// API writes (repo.Chain.Store): a quarantine takes each write's objects
// and one synced transaction stores them with the branch's move. It
// reports the whole process's CPU per write, Badger's flushes and
// compactions included, for groups of 1, 4 and 16 writes: the difference
// is what a group costs whatever its size (the synced write), the rest
// what the bytes cost.
func BenchmarkChainGroupPromote(b *testing.B) {
	for _, group := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("group=%d", group), func(b *testing.B) {
			ctx := context.Background()
			s := openTemp(b, b.TempDir(), Options{Create: true})
			objs := newChainObjects()
			var head objects.ID
			writes, cpu := 0, chainBenchCPU()
			for b.Loop() {
				q, err := s.Quarantine(ctx)
				if err != nil {
					b.Fatal(err)
				}
				var tip objects.ID
				for range group {
					for _, size := range chainWriteSizes {
						o := objs.next(size)
						if err := q.Put(ctx, o); err != nil {
							b.Fatal(err)
						}
						tip = o.ID
					}
				}
				keep := func(objects.ID) bool { return true }
				if err := q.Promote(ctx, keep, objects.RefUpdate{Name: "refs/heads/main", Old: head, New: tip}); err != nil {
					b.Fatal(err)
				}
				head, writes = tip, writes+group
			}
			b.ReportMetric(float64((chainBenchCPU()-cpu).Microseconds())/float64(writes), "cpu-us/write")
		})
	}
}

// chainObjects makes distinct objects of JSON-like bytes cheaply: a fixed
// random text, a counter in front, the hash.
type chainObjects struct {
	text []byte
	n    uint64
}

func newChainObjects() *chainObjects {
	rng := rand.New(rand.NewPCG(1, 2))
	text := make([]byte, 16<<10)
	for i := range text {
		text[i] = `{"key": "docs/0000000.json", 0123456789}`[rng.IntN(40)]
	}
	return &chainObjects{text: text}
}

func (c *chainObjects) next(size int) objects.Object {
	c.n++
	data := make([]byte, size)
	copy(data, c.text[c.n%1024:])
	binary.BigEndian.PutUint64(data, c.n)
	return objects.Object{ID: objects.Hash(data), Data: data}
}

// chainBenchCPU is the CPU time this process has used.
func chainBenchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
