package badgerstore

import (
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/folio-db/folio/objects"
)

// The objects a store keeps in memory (Options.RecentBytes) take about
// their budget in heap, small ones too, whose map slots and keys cost
// more than their bytes: serve's memory limit counts that budget.
func TestRecentObjectsTakeAboutTheirBudget(t *testing.T) {
	const budget = 16 << 20
	for _, size := range []int{8, 40} {
		for _, n := range []int{300_000, 900_000} { // Go's maps grow by doubling: two points of it
			before := heapAlloc()
			r := newRecent(budget)
			for i := range n {
				id := objects.ID(sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i))))
				r.Add(0, id, make([]byte, size))
			}
			if grew := heapAlloc() - before; grew > budget*11/10 {
				t.Errorf("%d objects of %d bytes: %d KiB of heap for a budget of %d KiB", n, size, grew>>10, budget>>10)
			}
			runtime.KeepAlive(r)
		}
	}
}

func heapAlloc() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
