package transfer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/remote/wire"
)

// storedMap is a stored commit's index, read level by level: the items of
// each level (level 0: the entries), in key order.
type storedMap struct {
	commit objects.ID
	height uint64
	root   objects.ID
	levels [][]objects.NodeItem
	leaves map[objects.ID]*objects.Node
}

func readStoredMap(t *testing.T, s objects.ObjectReader, id objects.ID) *storedMap {
	t.Helper()
	ctx := context.Background()
	c, err := readCommit(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	return readMapAt(t, s, id, c.Height, c.Index)
}

// readMapAt is readStoredMap of the map at root, of commit id.
func readMapAt(t *testing.T, s objects.ObjectReader, id objects.ID, height uint64, root objects.ID) *storedMap {
	t.Helper()
	ctx := context.Background()
	m := &storedMap{commit: id, height: height, root: root, leaves: map[objects.ID]*objects.Node{}}
	read := func(id objects.ID) *objects.Node {
		data, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		n, err := objects.DecodeNode(data)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	top := read(root)
	level := []objects.NodeItem{{Key: top.Items[len(top.Items)-1].Key, Entry: objects.Entry{ID: root}}}
	for l := int(top.Level); l >= 0; l-- {
		var below []objects.NodeItem
		for _, it := range level {
			n := read(it.Entry.ID)
			if n.Level == 0 {
				m.leaves[it.Entry.ID] = n
			}
			below = append(below, n.Items...)
		}
		m.levels = append([][]objects.NodeItem{below}, m.levels...)
		level = below
	}
	return m
}

// storeBase stores a commit of n documents as a local commit would make
// it, in one write: staging them one by one takes seconds.
func storeBase(t *testing.T, s objects.Store, n int) objects.ID {
	t.Helper()
	ctx := context.Background()
	var blobs []objects.Object
	var items []objects.NodeItem
	for i := range n {
		b := objects.EncodeBlob(fmt.Appendf(nil, `{"id": %d}`, i))
		blobs = append(blobs, b)
		items = append(items, objects.NodeItem{Key: fmt.Sprintf("docs/%05d.json", i),
			Entry: objects.Entry{ID: b.ID, Kind: objects.KindJSON, Size: uint64(len(b.Data))}})
	}
	if err := s.Put(ctx, blobs...); err != nil {
		t.Fatal(err)
	}
	index, err := buildMap(s, items)
	if err != nil {
		t.Fatal(err)
	}
	c := (&objects.Commit{Index: index, Height: 1, Time: tick()}).Encode()
	if err := s.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// stealKey is items with its last entry replaced by one keyed inside
// next's range (after its first key), and chosen so that the chunker
// cuts after it: a leaf that fits the chunking rule and overlaps the next
// leaf. (A leaf that ends at a boundary keeps it there, so a key added
// after its last item starts a node of its own.)
func stealKey(items, next []objects.NodeItem) []objects.NodeItem {
	for k := range 1000 {
		it := objects.NodeItem{Key: fmt.Sprintf("%sx%d", next[0].Key, k), Entry: next[0].Entry}
		if it.Key >= next[len(next)-1].Key {
			break
		}
		stolen := append(slices.Clone(items[:len(items)-1]), it)
		if endsAtBoundary(stolen) {
			return stolen
		}
	}
	return items
}

// endsAtBoundary says whether the chunker cuts a node after the last of
// items when it starts one at the first (it cuts by the bytes since the
// node's start): in a map of items and one key more, the first leaf ends
// at the last of items.
func endsAtBoundary(items []objects.NodeItem) bool {
	ctx := context.Background()
	s := memstore.New()
	last := items[len(items)-1]
	root, err := buildMap(s, append(slices.Clone(items), objects.NodeItem{Key: last.Key + "~", Entry: last.Entry}))
	for id := root; err == nil; {
		var data []byte
		if data, err = s.Get(ctx, id); err != nil {
			break
		}
		n, derr := objects.DecodeNode(data)
		if derr != nil || n.Level == 0 {
			return derr == nil && n.Items[len(n.Items)-1].Key == last.Key
		}
		id = n.Items[0].Entry.ID
	}
	return false
}

// buildMap is the map this repository builds of items (entries in key
// order), into s.
func buildMap(s prolly.NodeStore, items []objects.NodeItem) (objects.ID, error) {
	return prolly.New(s).Build(context.Background(), func(yield func(string, objects.Entry) bool) {
		for _, it := range items {
			if !yield(it.Key, it.Entry) {
				return
			}
		}
	})
}

// splice is a map made of stored nodes and new ones: the new nodes in
// dependency order, its root, and the entries it holds.
type splice struct {
	arrived []objects.Object
	root    objects.ID
	entries []objects.NodeItem
}

// group puts items of one level into new nodes of the level above, cut
// where cuts says (after item i when cuts(i)), and returns their items.
func (s *splice) group(level uint8, items []objects.NodeItem, cuts func(i int) bool) []objects.NodeItem {
	var out []objects.NodeItem
	var cur []objects.NodeItem
	for i, it := range items {
		cur = append(cur, it)
		if cuts(i) || i == len(items)-1 {
			n := &objects.Node{Level: level, Items: cur}
			o := n.Encode()
			s.arrived = append(s.arrived, o)
			var size uint64
			for _, c := range cur {
				if level == 0 {
					size++
				} else {
					size += c.Entry.Size
				}
			}
			out = append(out, objects.NodeItem{Key: cur[len(cur)-1].Key, Entry: objects.Entry{ID: o.ID, Size: size}})
			cur = nil
		}
	}
	return out
}

// spliceMap makes a random map of the stored map's leaves: some leaves
// kept as stored, some dropped, some replaced by a new leaf of part of
// their entries; then levels above of new nodes cut at random, or where
// the stored map cut them, so that new nodes hold stored children in
// the places the stored map holds them, and elsewhere.
func spliceMap(rng *rand.Rand, m *storedMap) *splice {
	s := &splice{}
	leafItems := m.levels[1]
	var level []objects.NodeItem
	// One or two leaves changed, or none: a map that changes little is
	// what parentMaps serves, and the chunker cuts most of it the same.
	changed := map[int]int{}
	for range rng.IntN(3) {
		changed[rng.IntN(len(leafItems))] = 1 + rng.IntN(6)
	}
	for i, it := range leafItems {
		leaf := m.leaves[it.Entry.ID]
		items := leaf.Items
		switch changed[i] {
		case 0: // kept as stored
			s.entries = append(s.entries, items...)
			level = append(level, it)
			continue
		case 1: // dropped
			continue
		case 2:
			items = items[1:]
		case 3:
			items = items[:len(items)-1]
		case 4:
			j := rng.IntN(len(items))
			items = slices.Delete(slices.Clone(items), j, j+1)
		case 5: // a document changed: a new version, of any size
			j := rng.IntN(len(items))
			items = slices.Clone(items)
			blob := objects.EncodeBlob(fmt.Appendf(nil, `{"changed": %d}`, rng.Uint64()))
			s.arrived = append(s.arrived, blob)
			items[j].Entry.ID = blob.ID
			items[j].Entry.Size = uint64(1) << rng.IntN(40)
		case 6: // an entry added with a key in the next leaf's range, where a boundary falls
			if i+1 < len(leafItems) {
				items = stealKey(items, m.leaves[leafItems[i+1].Entry.ID].Items)
			}
		}
		if len(items) == 0 {
			continue
		}
		s.entries = append(s.entries, items...)
		level = append(level, s.group(0, items, func(int) bool { return false })...)
	}
	if len(level) == 0 {
		return nil
	}
	if rng.IntN(4) == 0 { // entries added past the end, in a leaf of their own
		last := leafItems[len(leafItems)-1]
		var items []objects.NodeItem
		for k := range 1 + rng.IntN(3) {
			items = append(items, objects.NodeItem{Key: fmt.Sprintf("%s~%d", last.Key, k), Entry: m.leaves[last.Entry.ID].Items[0].Entry})
		}
		s.entries = append(s.entries, items...)
		level = append(level, s.group(0, items, func(int) bool { return false })...)
	}
	// The stored map's cuts of each level above, by last key.
	storedCuts := func(l int) map[string]bool {
		cuts := map[string]bool{}
		if l+1 < len(m.levels) {
			for _, it := range m.levels[l+1] {
				cuts[it.Key] = true
			}
		}
		return cuts
	}
	for l := 1; len(level) > 1 && l < objects.MaxNodeLevel; l++ {
		items, cuts := level, storedCuts(l)
		var cut func(i int) bool
		switch rng.IntN(3) {
		case 0:
			cut = func(i int) bool { return cuts[items[i].Key] }
		case 1:
			cut = func(i int) bool { return cuts[items[i].Key] != (rng.IntN(20) == 0) }
		default:
			cut = func(int) bool { return rng.IntN(max(2, len(items)/3)) == 0 }
		}
		level = s.group(uint8(l), items, cut)
	}
	s.root = level[0].Entry.ID
	return s
}

// admitOnly receives objs into a quarantine of dst and admits target, and
// discards the quarantine either way.
func admitOnly(t *testing.T, dst objects.Store, target objects.ID, objs ...objects.Object) error {
	t.Helper()
	ctx := context.Background()
	qr, err := dst.Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Discard()
	got, err := Receive(ctx, qr, wire.NewPackReader(packOf(t, objs...), wire.Limits{}))
	if err != nil {
		return err
	}
	_, err = Admit(ctx, qr, dst, got, target)
	return err
}

// A new map that takes stored subtrees from its parent's map is admitted
// only if the local chunker cuts the same entries the same way: whatever
// parentMaps.fits vouches for, or Receive proves from the parent's map,
// no splice of stored leaves and nodes into new ones (dropped leaves,
// leaves cut short or changed, a leaf that takes a key of the next one's
// range, a leaf added past the old last one, levels cut where the
// parent's map cut them or not) gets past Admit unless it is the map
// this repository would build. It fails if fits drops its check of the
// key before a child or of where the child ended its level.
func TestAdmitTakesOnlyCanonicalSplicesOfTheParentsMap(t *testing.T) {
	t.Parallel()
	dst := newRepo(t, true)
	m := readStoredMap(t, dst.Store(), storeBase(t, dst.Store(), 12000))
	if len(m.levels) < 3 {
		t.Fatalf("want a stored index of 3 levels or more, got %d", len(m.levels))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var admitted, refused, canonical, changed int
	for i := range 300 {
		s := spliceMap(rng, m)
		if s == nil {
			continue
		}
		want, err := buildMap(memstore.New(), s.entries)
		if err != nil {
			want = objects.ID{} // no map holds these entries in this order
		}
		c := (&objects.Commit{Index: s.root, Parents: []objects.ID{m.commit}, Height: m.height + 1, Time: tick(),
			Message: fmt.Sprint(i)}).Encode()
		err = admitOnly(t, dst.Store(), c.ID, append(s.arrived, c)...)
		switch {
		case err == nil && want.IsZero():
			t.Errorf("splice %d: admitted a map of %d entries whose keys overlap (root %s)", i, len(s.entries), s.root.Short())
		case err == nil && s.root != want:
			t.Errorf("splice %d: admitted a map of %d entries with root %s; this repository cuts them as %s",
				i, len(s.entries), s.root.Short(), want.Short())
		case err != nil && s.root == want:
			t.Errorf("splice %d: refused the map this repository would build: %v", i, err)
		}
		if err != nil && refused < 3 {
			t.Logf("splice %d refused: %v", i, err)
		}
		if err == nil && s.root != m.root {
			changed++
		}
		if err == nil {
			admitted++
		} else {
			refused++
		}
		if s.root == want {
			canonical++
		}
	}
	t.Logf("%d splices admitted (%d of them new maps), %d refused (%d canonical)", admitted, changed, refused, canonical)
	if changed == 0 || refused == 0 {
		t.Errorf("%d new maps admitted and %d refused: the splices test nothing", changed, refused)
	}
}
