package prolly

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
)

// benchMap is a map of n sequential keys built once per process.
type benchMap struct {
	st   *memstore.Store
	root objects.ID
	n    int
}

var (
	benchMu   sync.Mutex
	benchMaps = map[int]*benchMap{}
	benchRuns atomic.Int64
)

func sortedEdits(n int) []Edit {
	edits := make([]Edit, n)
	for i := range edits {
		edits[i] = Edit{Key: seqKey(2 * i), Entry: entry(i, 0)}
	}
	return edits
}

// getBenchMap builds (once) a map of n entries under the keys seqKey(2i),
// so that odd keys are free for inserts.
func getBenchMap(b *testing.B, n int) *benchMap {
	benchMu.Lock()
	defer benchMu.Unlock()
	if m := benchMaps[n]; m != nil {
		return m
	}
	st := memstore.New()
	root, err := New(st).Edit(context.Background(), objects.ID{}, sortedEdits(n))
	if err != nil {
		b.Fatal(err)
	}
	m := &benchMap{st: st, root: root, n: n}
	benchMaps[n] = m
	return m
}

// reportShape reports the average node size and the depth of a map.
func reportShape(b *testing.B, m *benchMap) {
	var nodes, bytes, depth int
	err := New(m.st).Walk(context.Background(), m.root, func(id objects.ID, n *objects.Node) (bool, error) {
		nodes++
		bytes += len(n.Encode().Data)
		depth = max(depth, int(n.Level)+1)
		return true, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(bytes)/float64(nodes), "avg-node-B")
	b.ReportMetric(float64(depth), "depth")
}

// BenchmarkBuild100k: a map of 100,000 entries from one sorted Edit on the
// empty map, and from the streaming Builder.
func BenchmarkBuild100k(b *testing.B) {
	edits := sortedEdits(100000)
	ctx := context.Background()
	b.Run("Edit", func(b *testing.B) {
		for b.Loop() {
			if _, err := New(memstore.New()).Edit(ctx, objects.ID{}, edits); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Builder", func(b *testing.B) {
		for b.Loop() {
			bl := New(memstore.New()).NewBuilder()
			for _, e := range edits {
				if err := bl.Add(ctx, e.Key, e.Entry); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := bl.Finish(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEditOne: one document inserted, updated or deleted in a map of
// 100,000 and of 1,000,000 entries; reports the bytes and nodes of new
// nodes written per edit (what Put received that the store lacked).
func BenchmarkEditOne(b *testing.B) {
	for _, n := range []int{100000, 1000000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			m := getBenchMap(b, n)
			cs := &countingStore{NodeStore: m.st}
			tr := New(cs)
			// Every run draws other edits: an edit repeated on the same
			// root would find its nodes stored already.
			run := benchRuns.Add(1)
			r := rand.New(rand.NewPCG(uint64(run), 2))
			ctx := context.Background()
			edits := 0
			for b.Loop() {
				var e Edit
				switch edits % 3 {
				case 0:
					e = Edit{Key: seqKey(2*r.IntN(n) + 1), Entry: entry(edits, 5+int(run))}
				case 1:
					e = Edit{Key: seqKey(2 * r.IntN(n)), Entry: entry(edits, 5+int(run))}
				default:
					e = Edit{Key: seqKey(2 * r.IntN(n)), Delete: true}
				}
				if _, err := tr.Edit(ctx, m.root, []Edit{e}); err != nil {
					b.Fatal(err)
				}
				edits++
			}
			b.ReportMetric(float64(cs.newBytes)/float64(edits), "new-B/edit")
			b.ReportMetric(float64(cs.newNodes)/float64(edits), "new-nodes/edit")
			reportShape(b, m)
		})
	}
}

// BenchmarkDiff: two maps of 1,000,000 entries that differ in 10 and in
// 10,000 keys (a third each inserted, updated, deleted).
func BenchmarkDiff(b *testing.B) {
	for _, changes := range []int{10, 10000} {
		b.Run(fmt.Sprintf("1M-%d", changes), func(b *testing.B) {
			m := getBenchMap(b, 1000000)
			r := rand.New(rand.NewPCG(3, 4))
			batch := map[string]Edit{}
			for i := 0; len(batch) < changes; i++ {
				k := r.IntN(m.n)
				switch i % 3 {
				case 0:
					batch[seqKey(2*k+1)] = Edit{Key: seqKey(2*k + 1), Entry: entry(i, 6)}
				case 1:
					batch[seqKey(2*k)] = Edit{Key: seqKey(2 * k), Entry: entry(i, 6)}
				default:
					batch[seqKey(2*k)] = Edit{Key: seqKey(2 * k), Delete: true}
				}
			}
			tr := New(m.st)
			ctx := context.Background()
			other, err := tr.Edit(ctx, m.root, sortedBatch(batch))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				found := 0
				err := tr.Diff(ctx, m.root, other, "", func(Change) error { found++; return nil })
				if err != nil || found != changes {
					b.Fatalf("%d changes, %v", found, err)
				}
			}
		})
	}
}

// BenchmarkDecodeNode: the cost of reading one leaf of about 4 KiB
// (objects.DecodeNode), which bounds every read that misses the cache.
func BenchmarkDecodeNode(b *testing.B) {
	m := getBenchMap(b, 100000)
	var data []byte
	err := New(m.st).Walk(context.Background(), m.root, func(id objects.ID, n *objects.Node) (bool, error) {
		if n.Level == 0 && data == nil {
			data = n.Encode().Data
		}
		return data == nil, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := objects.DecodeNode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet: a random key of a map of 100,000 entries (which fits the
// node cache once warm) and of 1,000,000 (about half its leaves do).
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{100000, 1000000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			m := getBenchMap(b, n)
			tr := New(m.st)
			r := rand.New(rand.NewPCG(5, 6))
			ctx := context.Background()
			for b.Loop() {
				if _, ok, err := tr.Get(ctx, m.root, seqKey(2*r.IntN(m.n))); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
