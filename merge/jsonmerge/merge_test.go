package jsonmerge

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

func mustMerge(t *testing.T, b, o, th string, w objects.Side) Result {
	t.Helper()
	var base []byte
	if b != "" {
		base = []byte(b)
	}
	res, err := Merge(base, []byte(o), []byte(th), w)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	return res
}

func paths(cs []Conflict) string {
	var p []string
	for _, c := range cs {
		p = append(p, fmt.Sprintf("%q", c.Path))
	}
	return strings.Join(p, " ")
}

func TestMergeTable(t *testing.T) {
	for _, tc := range []struct {
		name, base, ours, theirs string
		winner                   objects.Side
		want, conflicts          string
	}{
		{name: "scalar add/add, no base", ours: `1`, theirs: `2`, winner: objects.SideTheirs, want: `2`, conflicts: `""`},
		{name: "scalar add/add, equal values", ours: `1.0`, theirs: `1`, winner: objects.SideTheirs, want: `1.0`},
		{name: "ours ends with a newline, theirs not", base: "{\"a\":1,\"b\":1}", ours: "{\"a\":2,\"b\":1}\n", theirs: "{\"a\":1,\"b\":2}",
			winner: objects.SideOurs, want: "{\"a\":2,\"b\":2}\n"},
		{name: "theirs ends with a newline, ours not", base: "{\"a\":1,\"b\":1}", ours: "{\"a\":2,\"b\":1}", theirs: "{\"a\":1,\"b\":2}\n",
			winner: objects.SideOurs, want: "{\"a\":2,\"b\":2}"},
		{name: "ours reformatted only, theirs edits", base: `{"a":1,"b":[1,2]}`, ours: "{\n  \"b\": [1, 2],\n  \"a\": 1\n}", theirs: `{"a":1,"b":[1,2,3]}`,
			winner: objects.SideOurs, want: "{\n  \"b\": [1, 2, 3],\n  \"a\": 1\n}"},
		{name: "theirs reformatted only: its layout, ours' value", base: `{"a":1}`, ours: `{"a":2}`, theirs: "{\n  \"a\" : 1.0\n}", winner: objects.SideTheirs, want: "{\n  \"a\" : 2\n}"},
		{name: "conflict inside a conflict-free array", base: `[{"a":1},{"b":1}]`, ours: `[{"a":2},{"b":1}]`, theirs: `[{"a":3},{"b":1}]`,
			winner: objects.SideOurs, want: `[{"a":2},{"b":1}]`, conflicts: `"/0/a"`},
		{name: "array conflict comes before the conflicts inside it", base: `{"l":[{"a":1},1,2]}`, ours: `{"l":[{"a":2},1,3,4]}`, theirs: `{"l":[{"a":3},1,5]}`,
			winner: objects.SideOurs, want: `{"l":[{"a":2},1,3,4]}`, conflicts: `"/l" "/l/0/a"`},
		{name: "element paths count merged elements", base: `[0,1,{"x":1}]`, ours: `[7,0,1,{"x":2}]`, theirs: `[0,1,{"x":3}]`,
			winner: objects.SideTheirs, want: `[7,0,1,{"x":3}]`, conflicts: `"/3/x"`},
		{name: "deleted-by-winner keys are listed where they were", base: `{"a":1,"b":1,"c":1}`, ours: `{"a":2,"c":2}`, theirs: `{"a":3,"b":3,"c":3}`,
			winner: objects.SideOurs, want: `{"a":2,"c":2}`, conflicts: `"/a" "/b" "/c"`},
		{name: "pointer escapes", base: `{"a/b":{"~":1}}`, ours: `{"a/b":{"~":2}}`, theirs: `{"a/b":{"~":3}}`,
			winner: objects.SideOurs, want: `{"a/b":{"~":2}}`, conflicts: `"/a~1b/~0"`},
		{name: "lone surrogate keys show as U+FFFD in pointers", base: `{"\ud800":1}`, ours: `{"\ud800":2}`, theirs: `{"\ud800":3}`,
			winner: objects.SideOurs, want: `{"\ud800":2}`, conflicts: "\"/\ufffd\""},
		{name: "empty key", base: `{"":1}`, ours: `{"":2}`, theirs: `{"":3}`, winner: objects.SideOurs, want: `{"":2}`, conflicts: `"/"`},
		{name: "theirs adds to ours' empty object on one line", base: `{"a": {}, "x": 1}`, ours: `{"a": {}, "x": 2}`, theirs: `{"a": {"b": 1, "c": 2}, "x": 1}`,
			winner: objects.SideOurs, want: `{"a": {"b": 1, "c": 2}, "x": 2}`},
		{name: "ours' emptied object keeps its whitespace", base: `{"a":{"x":1,"z":1},"b":1}`, ours: `{"a":{ },"b":1}`, theirs: `{"a":{"x":1},"b":2}`,
			winner: objects.SideOurs, want: `{"a":{ },"b":2}`},
		{name: "whitespace inside ours' empty object stays", base: `{"a":{ },"b":{"k":1}}`, ours: `{"a":{ },"b":{"k":2}}`, theirs: `{"a":{ },"b":{}}`,
			winner: objects.SideTheirs, want: `{"a":{ },"b":{}}`, conflicts: `"/b/k"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := mustMerge(t, tc.base, tc.ours, tc.theirs, tc.winner)
			if string(res.Merged) != tc.want {
				t.Errorf("merged %q, want %q", res.Merged, tc.want)
			}
			if got := paths(res.Conflicts); got != tc.conflicts {
				t.Errorf("conflicts %s, want %s", got, tc.conflicts)
			}
		})
	}
}

// Conflicts hold each side's value as that side wrote it, and nil for a
// side that has none.
func TestConflictValuesAreAsWritten(t *testing.T) {
	base := "{\n  \"v\": {\"x\": 1.0}\n}\n"
	ours := "{\n  \"v\": [ 1,\n    2 ]\n}\n"
	theirs := "{}"
	res := mustMerge(t, base, ours, theirs, objects.SideOurs)
	if len(res.Conflicts) != 1 {
		t.Fatalf("conflicts %+v", res.Conflicts)
	}
	c := res.Conflicts[0]
	if c.Path != "/v" || string(c.Base) != `{"x": 1.0}` || string(c.Ours) != "[ 1,\n    2 ]" || c.Theirs != nil {
		t.Errorf("conflict %q base=%q ours=%q theirs=%v", c.Path, c.Base, c.Ours, c.Theirs)
	}
}

func TestMergeErrors(t *testing.T) {
	ok := []byte(`{"a":1}`)
	bad := []byte(`{"a":1`)
	for _, tc := range []struct {
		name      string
		b, o, th  []byte
		w         objects.Side
		want      error
		wantInMsg string
	}{
		{"bad base", bad, ok, ok, objects.SideOurs, ErrNotJSON, "base:"},
		{"bad ours", ok, bad, ok, objects.SideOurs, ErrNotJSON, "ours:"},
		{"bad theirs", ok, ok, bad, objects.SideOurs, ErrNotJSON, "theirs:"},
		{"empty ours", ok, nil, ok, objects.SideOurs, ErrNotJSON, "ours:"},
		{"whitespace base", []byte(" "), ok, ok, objects.SideOurs, ErrNotJSON, "base:"},
		{"invalid winner", ok, ok, ok, objects.Side(0), ErrInvalidWinner, ""},
		// A bad input is an error even where an identity would have answered.
		{"bad but identical", bad, bad, bad, objects.SideOurs, ErrNotJSON, "base:"},
	} {
		_, err := Merge(tc.b, tc.o, tc.th, tc.w)
		if !errors.Is(err, tc.want) || !strings.Contains(fmt.Sprint(err), tc.wantInMsg) {
			t.Errorf("%s: %v, want %v mentioning %q", tc.name, err, tc.want, tc.wantInMsg)
		}
	}
}

// The result never shares memory with the inputs, identities included.
func TestMergedDoesNotAliasInputs(t *testing.T) {
	base, ours := []byte(`{"a":1}`), []byte(`{"a":2}`)
	for _, res := range []Result{mustMerge(t, string(base), string(ours), string(base), objects.SideOurs),
		mustMerge(t, string(base), string(base), string(ours), objects.SideOurs)} {
		res.Merged[0] = 'X'
	}
	res, _ := Merge(base, ours, base, objects.SideOurs)
	res.Merged[0] = 'X'
	if string(ours) != `{"a":2}` {
		t.Errorf("ours changed to %q", ours)
	}
}

// Objects past the size where keys are found through a map merge the
// same way: ours' order, theirs' new key after its neighbour, and the
// same bytes on every run.
func TestMergeLargeObjects(t *testing.T) {
	object := func(keys []int, value func(k int) string) string {
		var b strings.Builder
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			if k < 0 {
				b.WriteString(`"new":true`)
				continue
			}
			fmt.Fprintf(&b, `"k%d":%s`, k, value(k))
		}
		return b.String() + "}"
	}
	var up, down, upWithNew, downWithNew []int
	for k := range 40 {
		up = append(up, k)
		down = append(down, 39-k)
		upWithNew = append(upWithNew, k)
		downWithNew = append(downWithNew, 39-k)
		if k == 20 {
			upWithNew = append(upWithNew, -1)
		}
		if 39-k == 20 {
			downWithNew = append(downWithNew, -1)
		}
	}
	edit := func(edits map[int]string) func(int) string {
		return func(k int) string {
			if v, ok := edits[k]; ok {
				return v
			}
			return fmt.Sprint(k)
		}
	}
	base := object(up, edit(nil))
	ours := object(down, edit(map[int]string{3: "300"}))                    // reversed, k3 edited
	theirs := object(upWithNew, edit(map[int]string{30: "3000"}))           // "new" after k20, k30 edited
	want := object(downWithNew, edit(map[int]string{3: "300", 30: "3000"})) // ours' order, "new" after k20
	first := mustMerge(t, base, ours, theirs, objects.SideOurs)
	if string(first.Merged) != want || len(first.Conflicts) != 0 {
		t.Fatalf("merged %s\nwant   %s\nconflicts %v", first.Merged, want, first.Conflicts)
	}
	for range 20 {
		again := mustMerge(t, base, ours, theirs, objects.SideOurs)
		if !bytes.Equal(again.Merged, first.Merged) {
			t.Fatal("same merge, different bytes")
		}
	}
}
