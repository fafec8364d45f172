package prolly

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
)

var seedFlag = flag.Uint64("prolly.seed", 0, "seed for the randomised tests (0: from the clock)")

// newRand returns a generator whose seed the test prints, so that a failure
// can be replayed with -prolly.seed.
func newRand(t testing.TB) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -prolly.seed=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func newTree() (*Tree, *memstore.Store) {
	s := memstore.New()
	return New(s), s
}

// entry returns a distinct, valid leaf entry for (n, version).
func entry(n, version int) objects.Entry {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], uint64(n))
	binary.LittleEndian.PutUint64(b[8:], uint64(version))
	return objects.Entry{ID: objects.Hash(b[:]), Kind: objects.KindJSON, Size: uint64(n%5000 + version)}
}

// seqKey is the n-th key of a sorted sequence of realistic keys.
func seqKey(n int) string { return fmt.Sprintf("docs/%03d/%08d.json", n/10000, n) }

// randKey draws a key with few distinct segments, so keys share prefixes
// and prefixes fall on node boundaries.
func randKey(r *rand.Rand) string {
	const alphabet = "abcxyz019-_"
	var sb strings.Builder
	segs := 1 + r.IntN(4)
	for s := range segs {
		if s > 0 {
			sb.WriteByte('/')
		}
		n := 1 + r.IntN(10)
		for range n {
			sb.WriteByte(alphabet[r.IntN(3+s*2)])
		}
	}
	return sb.String()
}

// model is the plain Go map a prolly map is checked against.
type model map[string]objects.Entry

func (m model) keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (m model) clone() model {
	c := make(model, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// apply applies sorted edits to the model.
func (m model) apply(edits []Edit) {
	for _, e := range edits {
		if e.Delete {
			delete(m, e.Key)
		} else {
			m[e.Key] = e.Entry
		}
	}
}

// build builds the map from scratch with a Builder: the reference every
// edited map must equal.
func build(t testing.TB, tr *Tree, m model) objects.ID {
	t.Helper()
	ctx := context.Background()
	b := tr.NewBuilder()
	for _, k := range m.keys() {
		if err := b.Add(ctx, k, m[k]); err != nil {
			t.Fatal(err)
		}
	}
	root, err := b.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// sets returns edits that set every key of m, sorted.
func sets(m model) []Edit {
	edits := make([]Edit, 0, len(m))
	for _, k := range m.keys() {
		edits = append(edits, Edit{Key: k, Entry: m[k]})
	}
	return edits
}

func mustEdit(t testing.TB, tr *Tree, root objects.ID, edits []Edit) objects.ID {
	t.Helper()
	root, err := tr.Edit(context.Background(), root, edits)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// iterate collects Iterate's output.
func iterate(t testing.TB, tr *Tree, root objects.ID, prefix, after string) []string {
	t.Helper()
	var got []string
	err := tr.Iterate(context.Background(), root, prefix, after, func(k string, e objects.Entry) error {
		got = append(got, k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// modelIterate is what Iterate must return.
func modelIterate(keys []string, prefix, after string) []string {
	var want []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) && k > after {
			want = append(want, k)
		}
	}
	return want
}

// treeStats is what checkStructure measured.
type treeStats struct {
	nodes, depth int
	bytes        int
}

// checkStructure walks the map and checks the shape rules: each node once,
// levels counting down to 0, every node but the last of its level at least
// MinNodeSize bytes of items, none over MaxNodeSize plus one item, and the
// canonical root. Walk itself checks keys, counts and chunking.
func checkStructure(t testing.TB, tr *Tree, st *memstore.Store, root objects.ID) treeStats {
	t.Helper()
	ctx := context.Background()
	var stats treeStats
	seen := map[objects.ID]bool{}
	lastKeyOfLevel := map[uint8]string{}
	type small struct {
		level uint8
		last  string
	}
	var smalls []small
	err := tr.Walk(ctx, root, func(id objects.ID, n *objects.Node) (bool, error) {
		if seen[id] {
			t.Errorf("node %s visited twice", id.Short())
		}
		seen[id] = true
		data, err := st.Get(ctx, id)
		if err != nil {
			return false, err
		}
		if objects.Hash(data) != id {
			t.Errorf("node %s stored under the wrong ID", id.Short())
		}
		stats.nodes++
		stats.bytes += len(data)
		stats.depth = max(stats.depth, int(n.Level)+1)
		size, biggest := 0, 0
		for _, it := range n.Items {
			s := objects.ItemSize(n.Level, it)
			size += s
			biggest = max(biggest, s)
		}
		if size >= MaxNodeSize+biggest {
			t.Errorf("node %s: %d bytes of items, over %d + one item", id.Short(), size, MaxNodeSize)
		}
		if size < MinNodeSize {
			smalls = append(smalls, small{n.Level, n.Items[len(n.Items)-1].Key})
		}
		last := n.Items[len(n.Items)-1].Key
		if last > lastKeyOfLevel[n.Level] {
			lastKeyOfLevel[n.Level] = last
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	for _, s := range smalls {
		if s.last != lastKeyOfLevel[s.level] {
			t.Errorf("a node of level %d ending at %q is under %d bytes and not the last of its level", s.level, s.last, MinNodeSize)
		}
	}
	if all := reachable(t, st, root); len(all) != len(seen) {
		t.Errorf("Walk visited %d nodes, %d are reachable", len(seen), len(all))
	}
	return stats
}

// reachable lists the nodes under root by decoding them straight from the
// store, independently of Walk.
func reachable(t testing.TB, st *memstore.Store, root objects.ID) map[objects.ID]bool {
	out := map[objects.ID]bool{}
	var visit func(id objects.ID)
	visit = func(id objects.ID) {
		data, err := st.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		n, err := objects.DecodeNode(data)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = true
		for _, it := range n.Items {
			if n.Level > 0 {
				visit(it.Entry.ID)
			}
		}
	}
	if !root.IsZero() {
		visit(root)
	}
	return out
}

// checkMap checks Get, Iterate, Count and the structure of the map at root
// against m.
func checkMap(t testing.TB, r *rand.Rand, tr *Tree, st *memstore.Store, root objects.ID, m model) {
	t.Helper()
	ctx := context.Background()
	keys := m.keys()
	if n, err := tr.Count(ctx, root); err != nil || n != uint64(len(m)) {
		t.Fatalf("Count = %d, %v; want %d", n, err, len(m))
	}
	if got := iterate(t, tr, root, "", ""); !slices.Equal(got, keys) {
		t.Fatalf("Iterate gives %d keys, want %d", len(got), len(keys))
	}
	probes := []string{randKey(r), randKey(r), "zzzz", "a"}
	for range 8 {
		if len(keys) > 0 {
			probes = append(probes, keys[r.IntN(len(keys))])
		}
	}
	for _, k := range probes {
		e, ok, err := tr.Get(ctx, root, k)
		want, wantOK := m[k]
		if err != nil || ok != wantOK || e != want {
			t.Fatalf("Get(%q) = %v, %v, %v; want %v, %v", k, e, ok, err, want, wantOK)
		}
	}
	for range 4 {
		prefix, after := randPrefix(r, keys), ""
		if r.IntN(2) == 0 {
			after = randPrefix(r, keys)
		}
		if got, want := iterate(t, tr, root, prefix, after), modelIterate(keys, prefix, after); !slices.Equal(got, want) {
			t.Fatalf("Iterate(%q, %q) = %d keys, want %d", prefix, after, len(got), len(want))
		}
	}
	checkStructure(t, tr, st, root)
}

// randPrefix draws a prefix: of an existing key, a whole key, or random.
func randPrefix(r *rand.Rand, keys []string) string {
	if len(keys) == 0 || r.IntN(4) == 0 {
		k := randKey(r)
		return k[:min(len(k), 1+r.IntN(2))]
	}
	k := keys[r.IntN(len(keys))]
	return k[:r.IntN(len(k)+1)]
}
