package jsonmerge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/folio-db/folio/objects"
)

func other(w objects.Side) objects.Side {
	if w == objects.SideOurs {
		return objects.SideTheirs
	}
	return objects.SideOurs
}

// TestMergeRandomEdits merges random documents edited at random places
// (small value pools, so conflicts are common) laid out in random styles,
// and checks what must hold for every merge: the result is valid JSON;
// swapping the sides and the winner gives the same conflicts, and the
// same value unless both sides inserted at one place (ours go first); at each conflict path the winner's value stands; the merge
// is deterministic; and the identities hold.
func TestMergeRandomEdits(t *testing.T) {
	conflicts := 0
	for seed := range seeds(1500) {
		g := &gen{r: rand.New(rand.NewPCG(seed, 7))}
		base := g.value(0)
		if seed%4 != 0 {
			base = g.object(0, 1+g.r.IntN(6))
		}
		ours := g.randomEdits(base, 1+g.r.IntN(4))
		theirs := g.randomEdits(base, 1+g.r.IntN(4))
		lb, lo, lt := layouts[g.r.IntN(len(layouts))], layouts[g.r.IntN(len(layouts))], layouts[g.r.IntN(len(layouts))]
		b, o, th := lb.marshal(base), lo.marshal(ours), lt.marshal(theirs)
		if seed%10 == 0 {
			b = nil // add/add
		}
		w := objects.SideOurs
		if seed%2 == 1 {
			w = objects.SideTheirs
		}
		name := fmt.Sprintf("seed %d (%s, %s, %s), %s wins", seed, lb.name, lo.name, lt.name, w)
		res := checkMerge(t, name, b, o, th, w)
		conflicts += len(res.Conflicts)
	}
	if conflicts == 0 {
		t.Error("no merge conflicted: the generator does not exercise conflicts")
	}
}

// checkMerge merges and checks the invariants of every merge.
func checkMerge(t *testing.T, name string, b, o, th []byte, w objects.Side) Result {
	t.Helper()
	res, err := Merge(b, o, th, w)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !validJSON(res.Merged) {
		t.Fatalf("%s: merged is not valid JSON:\n%s", name, res.Merged)
	}
	again, _ := Merge(b, o, th, w)
	if !bytes.Equal(again.Merged, res.Merged) {
		t.Fatalf("%s: merging twice gave different bytes", name)
	}
	swapped, err := Merge(b, th, o, other(w))
	if err != nil {
		t.Fatalf("%s swapped: %v", name, err)
	}
	if same, err := sameValue(res.Merged, swapped.Merged); len(res.Unions) == 0 && (err != nil || !same) {
		t.Fatalf("%s: swapping sides and winner changes the value (%v):\n%s\nswapped:\n%s", name, err, res.Merged, swapped.Merged)
	}
	if a, b := conflictSet(res.Conflicts, false), conflictSet(swapped.Conflicts, true); a != b {
		t.Fatalf("%s: swapping sides changes the conflicts:\n%s\nswapped:\n%s", name, a, b)
	}
	checkWinnerStands(t, name, res, w)
	checkIdentities(t, b, o, th, w)
	return res
}

// conflictSet shows conflicts sorted by path, with ours and theirs
// exchanged if swap.
func conflictSet(cs []Conflict, swap bool) string {
	var lines []string
	for _, c := range cs {
		o, th := c.Ours, c.Theirs
		if swap {
			o, th = th, o
		}
		lines = append(lines, fmt.Sprintf("%q %s %s %s", c.Path, compactRaw(c.Base), compactRaw(o), compactRaw(th)))
	}
	slices.Sort(lines)
	return fmt.Sprint(lines)
}

// checkWinnerStands checks that the value at each conflict path is the
// winner's (or nothing, where the winner has nothing), except for
// conflicting array regions, where the array is still merged around them.
func checkWinnerStands(t *testing.T, name string, res Result, w objects.Side) {
	t.Helper()
	merged, err := decodeTree(res.Merged)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, c := range res.Conflicts {
		if isArray(c.Ours) && isArray(c.Theirs) && (c.Base == nil || isArray(c.Base)) {
			continue
		}
		want := c.Ours
		if w == objects.SideTheirs {
			want = c.Theirs
		}
		got, err := lookup(merged, c.Path)
		if err != nil {
			t.Fatalf("%s: conflict path %q: %v", name, c.Path, err)
		}
		switch {
		case want == nil && got != nil:
			t.Fatalf("%s: the winner has nothing at %q, the merge has something", name, c.Path)
		case want != nil && got == nil:
			t.Fatalf("%s: the winner has %s at %q, the merge has nothing", name, want, c.Path)
		case want != nil:
			if same, _ := sameValue(want, layouts[0].marshal(got)); !same {
				t.Fatalf("%s: at %q the winner has %s, the merge %s", name, c.Path, want, layouts[0].marshal(got))
			}
		}
	}
}

func isArray(r json.RawMessage) bool {
	r = bytes.TrimLeft(r, " \t\r\n")
	return len(r) > 0 && r[0] == '['
}

// TestMergeDisjointEdits edits random documents on both sides at paths
// that part at different keys or elements, and checks that the merge is
// clean and holds every edit of both sides. When all three documents share
// a layout, the merged document is in that layout exactly.
func TestMergeDisjointEdits(t *testing.T) {
	for seed := range seeds(400) {
		g := &gen{r: rand.New(rand.NewPCG(seed, 11)), wide: true}
		base := g.object(0, 3+g.r.IntN(5))
		ours, theirs, want := base.clone(), base.clone(), base.clone()
		var taken [][]seg
		nodes(base, nil, func(_ *tv, p []seg) {
			if len(p) == 0 || g.r.IntN(4) != 0 {
				return
			}
			for _, q := range taken {
				if !compatible(p, q) {
					return
				}
			}
			taken = append(taken, p)
		})
		for i, p := range taken {
			side := ours
			if i%2 == 1 {
				side = theirs
			}
			g.edit(side, p)
			*at(want, p) = *at(side, p).clone()
		}
		l := layouts[g.r.IntN(len(layouts))]
		for _, w := range []objects.Side{objects.SideOurs, objects.SideTheirs} {
			name := fmt.Sprintf("seed %d, %d edits, %s, %s wins", seed, len(taken), l.name, w)
			res := checkMerge(t, name, l.marshal(base), l.marshal(ours), l.marshal(theirs), w)
			if len(res.Conflicts) > 0 {
				t.Fatalf("%s: disjoint edits conflict: %s", name, formatConflicts(res.Conflicts))
			}
			if same, err := sameValue(res.Merged, l.marshal(want)); err != nil || !same {
				t.Fatalf("%s: merged lacks an edit:\nbase:\n%s\nours:\n%s\ntheirs:\n%s\nmerged:\n%s\nwant:\n%s",
					name, l.marshal(base), l.marshal(ours), l.marshal(theirs), res.Merged, l.marshal(want))
			}
			if relaid := l.marshal(treeOf(t, res.Merged)); !bytes.Equal(relaid, res.Merged) {
				t.Fatalf("%s: merged is not in the documents' layout:\n%s\nwant:\n%s", name, res.Merged, relaid)
			}
		}
	}
}

// treeOf parses with this package's parser, keeping scalars' text, so
// that the layout of a document can be compared by printing it again.
func treeOf(t *testing.T, data []byte) *tv {
	t.Helper()
	d, err := parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var build func(n int32) *tv
	build = func(n int32) *tv {
		nd := &d.nodes[n]
		v := &tv{kind: nd.kind}
		if !nd.kind.composite() {
			v.lit = d.text(n)
			return v
		}
		for _, m := range d.kids(n) {
			v.keys = append(v.keys, displayString(m.key))
			v.kids = append(v.kids, build(m.val))
		}
		return v
	}
	return build(0)
}

// seeds is how many random cases a property test runs: fewer with -short.
func seeds(n uint64) uint64 {
	if testing.Short() {
		return n / 10
	}
	return n
}
