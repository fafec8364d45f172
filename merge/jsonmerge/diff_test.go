package jsonmerge

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestDiffTable(t *testing.T) {
	for _, tc := range []struct {
		name, a, b string
		want       []string
	}{
		{"same value, other layout", `{"a":[1,2],"b":1.0}`, "{\n  \"b\": 1,\n  \"a\": [1, 2.00]\n}", nil},
		{"scalar", `1`, `2`, []string{`replace "" 1 -> 2`}},
		{"type change", `{"a":{"b":1}}`, `{"a":[1]}`, []string{`replace "/a" {"b":1} -> [1]`}},
		{"keys: a's order, then b's new keys", `{"x":1,"y":2,"z":3}`, `{"n":0,"z":4,"x":1}`,
			[]string{`remove "/y" 2`, `replace "/z" 3 -> 4`, `add "/n" 0`}},
		{"escaped pointers", `{"a/b":{"~":1}}`, `{"a/b":{"~":2}}`, []string{`replace "/a~1b/~0" 1 -> 2`}},
		{"array insert and delete", `[1,2,3,4]`, `[0,1,3,4,5]`,
			[]string{`add "/0" 0`, `remove "/2" 2`, `add "/4" 5`}},
		{"array element edited in place", `[{"id":1,"v":1},{"id":2,"v":1}]`, `[{"id":1,"v":1},{"id":2,"v":2}]`,
			[]string{`replace "/1/v" 1 -> 2`}},
		{"longer replacement", `["a","b"]`, `["x","y","z"]`,
			[]string{`replace "/0" "a" -> "x"`, `replace "/1" "b" -> "y"`, `add "/2" "z"`}},
		{"shorter replacement", `["a","b","c"]`, `["x"]`,
			[]string{`replace "/0" "a" -> "x"`, `remove "/1" "b"`, `remove "/1" "c"`}},
		{"values as written", `{"a": [ 1 ]}`, `{"a": [ 1, 2 ], "b": {"c" : 1.50}}`,
			[]string{`add "/a/1" 2`, `add "/b" {"c" : 1.50}`}},
		{"absent a", ``, `{"a":1}`, []string{`add "" {"a":1}`}},
		{"absent b", `[1]`, ``, []string{`remove "" [1]`}},
		{"both absent", ``, ``, nil},
	} {
		changes, err := Diff([]byte(tc.a), []byte(tc.b))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, c := range changes {
			got = append(got, c.String())
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// TestDiffIsAPatch checks on random documents that the changes, applied
// in order as a JSON Patch (by an applier built on encoding/json), turn a
// into b; and that a document diffed with itself in another layout has
// no changes.
func TestDiffIsAPatch(t *testing.T) {
	for seed := range seeds(2000) {
		g := &gen{r: rand.New(rand.NewPCG(seed, 3))}
		a := g.value(0)
		b := g.randomEdits(a, 1+g.r.IntN(5))
		la, lb := layouts[g.r.IntN(len(layouts))], layouts[g.r.IntN(len(layouts))]
		checkPatch(t, fmt.Sprintf("seed %d", seed), la.marshal(a), lb.marshal(b))
		if changes, err := Diff(la.marshal(a), lb.marshal(a)); err != nil || len(changes) != 0 {
			t.Fatalf("seed %d: a document against itself: %v %v", seed, changes, err)
		}
	}
}

func checkPatch(t *testing.T, name string, a, b []byte) {
	t.Helper()
	changes, err := Diff(a, b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	root, err := decodeTree(a)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	patched, err := applyPatch(root, changes)
	if err != nil {
		t.Fatalf("%s: applying %v: %v", name, changes, err)
	}
	if same, err := sameValue(layouts[0].marshal(patched), b); err != nil || !same {
		t.Fatalf("%s: patched a is not b (%v)\na: %s\nb: %s\nchanges: %v\npatched: %s", name, err, a, b, changes, layouts[0].marshal(patched))
	}
	for _, c := range changes {
		for _, v := range []json.RawMessage{c.Old, c.New} {
			if v != nil && !json.Valid(v) {
				t.Fatalf("%s: %v holds invalid JSON", name, c)
			}
		}
	}
}
