package prolly

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
)

// TestEmptyMap: the zero ID is the empty map for every operation.
func TestEmptyMap(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTree()
	var zero objects.ID
	if _, ok, err := tr.Get(ctx, zero, "a"); ok || err != nil {
		t.Errorf("Get = %v, %v", ok, err)
	}
	if n, err := tr.Count(ctx, zero); n != 0 || err != nil {
		t.Errorf("Count = %d, %v", n, err)
	}
	if got := iterate(t, tr, zero, "", ""); len(got) != 0 {
		t.Errorf("Iterate = %v", got)
	}
	if err := tr.Walk(ctx, zero, func(objects.ID, *objects.Node) (bool, error) { return true, errors.New("visited") }); err != nil {
		t.Errorf("Walk = %v", err)
	}
	if got := diff(t, tr, zero, zero, "", -1); len(got) != 0 {
		t.Errorf("Diff = %v", got)
	}
	for _, edits := range [][]Edit{nil, {{Key: "a", Delete: true}, {Key: "b", Delete: true}}} {
		if root := mustEdit(t, tr, zero, edits); !root.IsZero() {
			t.Errorf("Edit(%v) on the empty map = %s", edits, root.Short())
		}
	}
	if root, err := tr.NewBuilder().Finish(ctx); !root.IsZero() || err != nil {
		t.Errorf("empty Builder = %s, %v", root.Short(), err)
	}
}

// TestSingleKey: one entry is one leaf; deleting it gives the empty map.
func TestSingleKey(t *testing.T) {
	ctx := context.Background()
	tr, st := newTree()
	e := entry(1, 1)
	root := mustEdit(t, tr, objects.ID{}, []Edit{{Key: "only", Entry: e}})
	if got, ok, err := tr.Get(ctx, root, "only"); got != e || !ok || err != nil {
		t.Fatalf("Get = %v, %v, %v", got, ok, err)
	}
	if s := checkStructure(t, tr, st, root); s.nodes != 1 || s.depth != 1 {
		t.Errorf("one entry makes %d nodes, depth %d", s.nodes, s.depth)
	}
	if got := diff(t, tr, objects.ID{}, root, "", -1); !slices.Equal(got, []Change{{Key: "only", To: e}}) {
		t.Errorf("Diff from empty = %v", got)
	}
	if got := diff(t, tr, root, objects.ID{}, "", -1); !slices.Equal(got, []Change{{Key: "only", From: e}}) {
		t.Errorf("Diff to empty = %v", got)
	}
	if root := mustEdit(t, tr, root, []Edit{{Key: "only", Delete: true}}); !root.IsZero() {
		t.Errorf("deleting the only key gives %s", root.Short())
	}
}

// TestDeleteEverything: deleting all keys, in one batch or many, gives the
// zero ID; deleting all but one collapses the tree to a single leaf.
func TestDeleteEverything(t *testing.T) {
	r := newRand(t)
	tr, st := newTree()
	m := model{}
	for i := range 20000 {
		m[seqKey(i)] = entry(i, 0)
	}
	root := build(t, tr, m)
	if checkStructure(t, tr, st, root).depth < 3 {
		t.Fatal("want a tree of three levels or more")
	}
	var dels []Edit
	for _, k := range m.keys() {
		dels = append(dels, Edit{Key: k, Delete: true})
	}
	if got := mustEdit(t, tr, root, dels); !got.IsZero() {
		t.Errorf("one batch deleting everything gives %s", got.Short())
	}
	if got := mustEdit(t, tr, root, dels[1:]); got != build(t, tr, model{dels[0].Key: m[dels[0].Key]}) {
		t.Errorf("deleting all but the first key is not the one-leaf map")
	}
	if got := mustEdit(t, tr, root, dels[:len(dels)-1]); checkStructure(t, tr, st, got).nodes != 1 {
		t.Errorf("deleting all but the last key leaves more than one node")
	}
	shuffled := slices.Clone(dels)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if got := applyInBatches(t, r, tr, root, shuffled, 500); !got.IsZero() {
		t.Errorf("random batches deleting everything give %s", got.Short())
	}
}

// TestEdgeKeys: maps of the longest keys and of keys sharing long prefixes
// keep every rule.
func TestEdgeKeys(t *testing.T) {
	long := func(i int) string { return fmt.Sprintf("%s/%05d", strings.Repeat("p", objects.MaxKeyLen-6), i) }
	shared := func(i int) string {
		return fmt.Sprintf("%s%04d/%s/%03d", strings.Repeat("deep/", 150), i/100, strings.Repeat("x", 1+i%7), i%100)
	}
	for _, tc := range []struct {
		name string
		key  func(int) string
		n    int
	}{
		{"max length keys", long, 600},
		{"long shared prefixes", shared, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRand(t)
			tr, st := newTree()
			m := model{}
			for i := range tc.n {
				m[tc.key(i)] = entry(i, 0)
			}
			want := build(t, tr, m)
			if s := checkStructure(t, tr, st, want); s.depth < 2 {
				t.Errorf("%d entries fit one node", tc.n)
			}
			edits := sets(m)
			r.Shuffle(len(edits), func(i, j int) { edits[i], edits[j] = edits[j], edits[i] })
			if got := applyInBatches(t, r, tr, objects.ID{}, edits, 40); got != want {
				t.Errorf("batches give %s, Build %s", got.Short(), want.Short())
			}
			checkMap(t, r, tr, st, want, m)
			for _, p := range []string{tc.key(0)[:700], tc.key(tc.n / 2)[:len(tc.key(0))-2]} {
				if got, w := iterate(t, tr, want, p, ""), modelIterate(m.keys(), p, ""); !slices.Equal(got, w) {
					t.Errorf("Iterate(%.20q...) = %d keys, want %d", p, len(got), len(w))
				}
			}
		})
	}
}

// TestPrefixOnBoundaries: prefixes and after-keys that sit exactly on the
// last key of a node, just before or after it, iterate and diff correctly.
func TestPrefixOnBoundaries(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTree()
	m := model{}
	for i := range 3000 {
		m[fmt.Sprintf("d/%d/%d", i%7, i)] = entry(i, 0)
	}
	root := build(t, tr, m)
	added := Change{Key: "d/3/1000000", To: entry(1, 1)}
	other := mustEdit(t, tr, root, []Edit{{Key: added.Key, Entry: added.To}})
	keys := m.keys()
	var lastKeys []string
	err := tr.Walk(ctx, root, func(id objects.ID, n *objects.Node) (bool, error) {
		lastKeys = append(lastKeys, n.Items[len(n.Items)-1].Key)
		if n.Level == 0 {
			lastKeys = append(lastKeys, n.Items[0].Key)
		}
		return true, nil
	})
	if err != nil || len(lastKeys) < 10 {
		t.Fatalf("walk: %d nodes, %v", len(lastKeys), err)
	}
	for _, k := range lastKeys {
		for _, p := range []string{k, k[:len(k)-1], k[:strings.LastIndexByte(k, '/')+1], k + "0", k + "/"} {
			if got, want := iterate(t, tr, root, p, ""), modelIterate(keys, p, ""); !slices.Equal(got, want) {
				t.Fatalf("Iterate(prefix %q) = %v, want %v", p, got, want)
			}
			if got, want := iterate(t, tr, root, "d/", p), modelIterate(keys, "d/", p); !slices.Equal(got, want) {
				t.Fatalf("Iterate(after %q) = %d keys, want %d", p, len(got), len(want))
			}
			var want []Change
			if strings.HasPrefix(added.Key, p) {
				want = []Change{added}
			}
			if got := diff(t, tr, root, other, p, -1); !slices.Equal(got, want) {
				t.Fatalf("Diff(prefix %q) = %v, want %v", p, got, want)
			}
		}
	}
}

// TestMixedKinds: a conflicts map holds KindConflict entries like any other.
func TestMixedKinds(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTree()
	var edits []Edit
	for i, k := range []objects.Kind{objects.KindText, objects.KindJSON, objects.KindBinary, objects.KindConflict} {
		e := entry(i, 0)
		e.Kind = k
		edits = append(edits, Edit{Key: fmt.Sprintf("k%d", i), Entry: e})
	}
	root := mustEdit(t, tr, objects.ID{}, edits)
	for _, e := range edits {
		if got, ok, err := tr.Get(ctx, root, e.Key); got != e.Entry || !ok || err != nil {
			t.Errorf("Get(%q) = %v, %v, %v", e.Key, got, ok, err)
		}
	}
}

// TestBadEdits: edits out of order, repeated, with invalid keys or entries
// a leaf cannot hold are refused, and nothing is written.
func TestBadEdits(t *testing.T) {
	ctx := context.Background()
	good := entry(1, 1)
	for _, tc := range []struct {
		name    string
		edits   []Edit
		wantKey bool // also wraps objects.ErrInvalidKey
	}{
		{"unsorted", []Edit{{Key: "b", Entry: good}, {Key: "a", Entry: good}}, false},
		{"repeated key", []Edit{{Key: "a", Entry: good}, {Key: "a", Delete: true}}, false},
		{"empty key", []Edit{{Key: "", Entry: good}}, true},
		{"empty segment", []Edit{{Key: "a//b", Entry: good}}, true},
		{"dot segment", []Edit{{Key: "a/./b", Delete: true}}, true},
		{"too long", []Edit{{Key: strings.Repeat("k", objects.MaxKeyLen+1), Entry: good}}, true},
		{"zero ID", []Edit{{Key: "a", Entry: objects.Entry{Kind: objects.KindText}}}, false},
		{"kind 0", []Edit{{Key: "a", Entry: objects.Entry{ID: good.ID}}}, false},
		{"unknown kind", []Edit{{Key: "a", Entry: objects.Entry{ID: good.ID, Kind: 9}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, st := newTree()
			cs := &countingStore{NodeStore: st}
			tr := New(cs)
			for _, root := range []objects.ID{{}, build(t, tr, model{"a": good, "c": good})} {
				cs.reset()
				_, err := tr.Edit(ctx, root, tc.edits)
				if !errors.Is(err, ErrBadEdit) || errors.Is(err, objects.ErrInvalidKey) != tc.wantKey {
					t.Errorf("Edit = %v", err)
				}
				if cs.puts != 0 {
					t.Errorf("a refused edit wrote %d times", cs.puts)
				}
			}
			b := tr.NewBuilder()
			var err error
			for _, e := range tc.edits {
				if err = b.Add(ctx, e.Key, e.Entry); err != nil {
					break
				}
			}
			if _, ferr := b.Finish(ctx); !errors.Is(err, ErrBadEdit) || !errors.Is(ferr, ErrBadEdit) {
				t.Errorf("Builder: Add = %v, Finish = %v", err, ferr)
			}
		})
	}
}

// TestStop: ErrStop ends Iterate and Diff without an error; other callback
// errors come back.
func TestStop(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTree()
	m := model{}
	for i := range 1000 {
		m[seqKey(i)] = entry(i, 0)
	}
	root := build(t, tr, m)
	n := 0
	err := tr.Iterate(ctx, root, "", "", func(string, objects.Entry) error {
		if n++; n == 10 {
			return fmt.Errorf("enough: %w", ErrStop)
		}
		return nil
	})
	if err != nil || n != 10 {
		t.Errorf("Iterate stopped after %d with %v", n, err)
	}
	boom := errors.New("boom")
	if err := tr.Iterate(ctx, root, "", "", func(string, objects.Entry) error { return boom }); err != boom {
		t.Errorf("Iterate = %v, want the callback's error", err)
	}
	if err := tr.Diff(ctx, objects.ID{}, root, "", func(Change) error { return boom }); err != boom {
		t.Errorf("Diff = %v, want the callback's error", err)
	}
}

// TestCancel: a cancelled context stops reads.
func TestCancel(t *testing.T) {
	tr, _ := newTree()
	m := model{}
	for i := range 5000 {
		m[seqKey(i)] = entry(i, 0)
	}
	root := build(t, tr, m)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Iterate(ctx, root, "", "", func(string, objects.Entry) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Iterate = %v", err)
	}
	if err := tr.Walk(ctx, root, func(objects.ID, *objects.Node) (bool, error) { return true, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Walk = %v", err)
	}
}

// TestGolden pins the format: the boundary hash and the root of a fixed map.
// If this fails, every stored index changes its ID: that needs a new object
// format version, not a new golden value.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		level uint8
		key   string
		want  uint64
	}{
		{0, "", 0xb9034ad37056f5fb},
		{0, "docs/a.json", 0x603f0bea1ef93af},
		{3, "docs/a.json", 0xef25d0038c3efe05},
	} {
		if got := boundaryHash(tc.level, tc.key); got != tc.want {
			t.Errorf("boundaryHash(%d, %q) = %#x, want %#x", tc.level, tc.key, got, tc.want)
		}
	}
	tr, _ := newTree()
	m := model{}
	for i := range 10000 {
		m[seqKey(i)] = entry(i, 0)
	}
	const want = "ccaaa914fc3d097c89b3d9335f998a4e68b85e94759ad5b1f6f2c2ccc5dd10e4"
	if got := build(t, tr, m); got.String() != want {
		t.Errorf("root of the golden map = %s, want %s", got, want)
	}
}

// corruptCase builds a small tree by hand.
type corruptCase struct {
	name  string
	build func(put func(*objects.Node) objects.ID) objects.ID
	walk  bool // only Walk sees it (it checks the chunking)
}

func leaf(keys ...string) *objects.Node {
	n := &objects.Node{}
	for i, k := range keys {
		n.Items = append(n.Items, objects.NodeItem{Key: k, Entry: entry(i, 0)})
	}
	return n
}

func parent(level uint8, kids ...objects.NodeItem) *objects.Node {
	return &objects.Node{Level: level, Items: kids}
}

func item(key string, id objects.ID, size uint64) objects.NodeItem {
	return objects.NodeItem{Key: key, Entry: objects.Entry{ID: id, Size: size}}
}

// TestCorruptTrees: a child that does not fit its parent is reported as
// corrupt by every operation that reads it.
func TestCorruptTrees(t *testing.T) {
	// Leaves big enough that the chunking could have cut them where they end
	// is not needed: only Walk checks the chunking.
	for _, tc := range []corruptCase{
		{"child one level too low", func(put func(*objects.Node) objects.ID) objects.ID {
			a, b := put(leaf("a", "b")), put(leaf("c", "d"))
			return put(parent(2, item("b", a, 2), item("d", b, 2)))
		}, false},
		{"wrong count", func(put func(*objects.Node) objects.ID) objects.ID {
			a, b := put(leaf("a", "b")), put(leaf("c", "d"))
			return put(parent(1, item("b", a, 2), item("d", b, 3)))
		}, false},
		{"last key differs from the parent's", func(put func(*objects.Node) objects.ID) objects.ID {
			a, b := put(leaf("a", "b")), put(leaf("c", "d"))
			return put(parent(1, item("b", a, 2), item("e", b, 2)))
		}, false},
		{"keys overlap the previous sibling", func(put func(*objects.Node) objects.ID) objects.ID {
			a, b := put(leaf("a", "c")), put(leaf("b", "d"))
			return put(parent(1, item("c", a, 2), item("d", b, 2)))
		}, false},
		{"root with a single child", func(put func(*objects.Node) objects.ID) objects.ID {
			return put(parent(1, item("b", put(leaf("a", "b")), 2)))
		}, false},
		{"not a node", func(put func(*objects.Node) objects.ID) objects.ID {
			return objects.EncodeBlob([]byte("hello")).ID
		}, false},
		{"cut where the rule does not cut", func(put func(*objects.Node) objects.ID) objects.ID {
			a, b := put(leaf("a", "b")), put(leaf("c", "d"))
			return put(parent(1, item("b", a, 2), item("d", b, 2)))
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := memstore.New()
			blob := objects.EncodeBlob([]byte("hello"))
			if err := st.Put(ctx, blob); err != nil {
				t.Fatal(err)
			}
			root := tc.build(func(n *objects.Node) objects.ID {
				o := n.Encode()
				if err := st.Put(ctx, o); err != nil {
					t.Fatal(err)
				}
				return o.ID
			})
			tr := New(st)
			walkErr := tr.Walk(ctx, root, func(objects.ID, *objects.Node) (bool, error) { return true, nil })
			if !errors.Is(walkErr, objects.ErrCorrupt) {
				t.Errorf("Walk = %v", walkErr)
			}
			if tc.walk {
				if _, ok, err := tr.Get(ctx, root, "d"); !ok || err != nil {
					t.Errorf("Get = %v, %v: only Walk checks the chunking", ok, err)
				}
				return
			}
			_, _, getErr := tr.Get(ctx, root, "d")
			_, editErr := tr.Edit(ctx, root, []Edit{{Key: "d", Entry: entry(9, 9)}})
			for name, err := range map[string]error{
				"Get":     getErr,
				"Iterate": tr.Iterate(ctx, root, "", "", func(string, objects.Entry) error { return nil }),
				"Diff":    tr.Diff(ctx, objects.ID{}, root, "", func(Change) error { return nil }),
				"Edit":    editErr,
			} {
				if !errors.Is(err, objects.ErrCorrupt) {
					t.Errorf("%s = %v", name, err)
				}
			}
		})
	}
}

// TestMissingNode: a node absent from the store is an error wrapping
// objects.ErrNotFound.
func TestMissingNode(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTree()
	missing := objects.Hash([]byte("nothing"))
	if _, _, err := tr.Get(ctx, missing, "a"); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("Get = %v", err)
	}
	if _, err := tr.Edit(ctx, missing, []Edit{{Key: "a", Delete: true}}); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("Edit = %v", err)
	}
}

// TestBuildMatchesEdit: Build from an iterator, the Builder and Edit on the
// empty map agree.
func TestBuildMatchesEdit(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 1))
	tr, _ := newTree()
	m := randModel(r, 5000)
	keys := m.keys()
	got, err := tr.Build(ctx, func(yield func(string, objects.Entry) bool) {
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	})
	if err != nil || got != mustEdit(t, tr, objects.ID{}, sets(m)) {
		t.Errorf("Build = %s, %v; differs from Edit", got.Short(), err)
	}
}

// TestConcurrentUse: one Tree (and its cache) serves reads and edits from
// several goroutines at once; run with -race.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTree()
	m := model{}
	for i := range 5000 {
		m[seqKey(i)] = entry(i, 0)
	}
	root := build(t, tr, m)
	smaller := m.clone()
	delete(smaller, seqKey(1))
	want := build(t, New(memstore.New()), smaller)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			var err error
			switch g % 3 {
			case 0:
				var got objects.ID
				if got, err = tr.Edit(ctx, root, []Edit{{Key: seqKey(1), Delete: true}}); err == nil && got != want {
					err = fmt.Errorf("edit gives %s, want %s", got.Short(), want.Short())
				}
			case 1:
				n := 0
				if err = tr.Iterate(ctx, root, "", "", func(string, objects.Entry) error { n++; return nil }); err == nil && n != len(m) {
					err = fmt.Errorf("iterate gives %d keys", n)
				}
			default:
				for i := range 500 {
					if _, ok, gerr := tr.Get(ctx, root, seqKey(i*10)); !ok || gerr != nil {
						err = fmt.Errorf("get %d: %v %v", i, ok, gerr)
						break
					}
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
