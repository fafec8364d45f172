package text

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

func TestLines(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a\n"}},
		{"a\r\nb", []string{"a\r\n", "b"}},
		{"\n\n", []string{"\n", "\n"}},
		{"a\rb\n", []string{"a\rb\n"}}, // a lone CR does not end a line
	} {
		var got []string
		for _, l := range Lines([]byte(c.in)) {
			got = append(got, string(l))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Lines(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func lines(s ...string) []byte { return []byte(strings.Join(s, "\n") + "\n") }

func kinds(r Result) string {
	var b strings.Builder
	for _, h := range r.Hunks {
		b.WriteString(h.Kind.String()[:1])
	}
	return b.String()
}

func TestMergeKinds(t *testing.T) {
	base := lines("1", "2", "3", "4", "5", "6", "7")
	for _, c := range []struct {
		name          string
		ours, theirs  []byte
		kinds         string
		conflicts     int
		resolveOurs   string
		resolveTheirs string
	}{
		{"apart", lines("1", "A", "3", "4", "5", "6", "7"), lines("1", "2", "3", "4", "5", "B", "7"), "uoutu", 0,
			"1 A 3 4 5 B 7", "1 A 3 4 5 B 7"},
		{"touching", lines("1", "A", "3", "4", "5", "6", "7"), lines("1", "2", "B", "4", "5", "6", "7"), "ucu", 1,
			"1 A 3 4 5 6 7", "1 2 B 4 5 6 7"},
		{"same change", lines("1", "X", "3", "4", "5", "6", "7"), lines("1", "X", "3", "4", "5", "6", "7"), "usu", 0,
			"1 X 3 4 5 6 7", "1 X 3 4 5 6 7"},
		{"same spot", lines("1", "A", "3", "4", "5", "6", "7"), lines("1", "B", "3", "4", "5", "6", "7"), "ucu", 1,
			"1 A 3 4 5 6 7", "1 B 3 4 5 6 7"},
		{"delete vs modify", lines("1", "3", "4", "5", "6", "7"), lines("1", "B", "3", "4", "5", "6", "7"), "ucu", 1,
			"1 3 4 5 6 7", "1 B 3 4 5 6 7"},
	} {
		r := Merge(base, c.ours, c.theirs)
		if got := kinds(r); got != c.kinds || r.Conflicts != c.conflicts {
			t.Errorf("%s: kinds %q with %d conflicts, want %q with %d", c.name, got, r.Conflicts, c.kinds, c.conflicts)
		}
		want := func(s string) []byte { return lines(strings.Fields(s)...) }
		if got := r.Resolve(objects.SideOurs); !bytes.Equal(got, want(c.resolveOurs)) {
			t.Errorf("%s: Resolve(ours) = %q", c.name, got)
		}
		if got := r.Resolve(objects.SideTheirs); !bytes.Equal(got, want(c.resolveTheirs)) {
			t.Errorf("%s: Resolve(theirs) = %q", c.name, got)
		}
	}
}

func TestConflictPaths(t *testing.T) {
	base := lines("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12")
	r := Merge(base,
		lines("A", "2", "3", "4", "5", "X", "Y", "8", "9", "10", "11", "12", "end1"),
		lines("B", "2", "3", "4", "5", "P", "Q", "8", "9", "10", "11", "12", "end2"))
	got := r.ConflictPaths()
	want := []string{"line 1", "lines 6-7", "after line 12"}
	if !slices.Equal(got, want) {
		t.Errorf("ConflictPaths = %q, want %q", got, want)
	}
	if r := Merge(nil, lines("a"), lines("b")); !slices.Equal(r.ConflictPaths(), []string{"at start"}) {
		t.Errorf("add/add ConflictPaths = %q", r.ConflictPaths())
	}
}

func TestMarkerOptions(t *testing.T) {
	r := Merge(lines("a", "b"), lines("a", "B1"), lines("a", "B2"))
	got := string(r.Markers(MarkerOptions{Style: StyleDiff3, MarkerSize: 3, Labels: [3]string{"mine", "", "yours"}}))
	want := "a\n<<< mine\nB1\n|||\nb\n===\nB2\n>>> yours\n"
	if got != want {
		t.Errorf("Markers = %q, want %q", got, want)
	}
}

// checkHunks asserts what Hunk promises: the hunks partition each input,
// and each kind's sides relate as documented. Unrefined (diff3) conflicts
// may have equal sides: both sides reached the same text by different
// edits, which only refinement notices.
func checkHunks(t *testing.T, base, ours, theirs []byte, hunks []Hunk, refined bool) {
	t.Helper()
	var b, o, th []byte
	var bl, ol, tl int
	for _, h := range hunks {
		if h.BaseLines.Start != bl || h.OursLines.Start != ol || h.TheirsLines.Start != tl {
			t.Fatalf("hunk %+v does not start where the previous one ended (%d %d %d)", h, bl, ol, tl)
		}
		bl, ol, tl = h.BaseLines.End, h.OursLines.End, h.TheirsLines.End
		b, o, th = append(b, h.Base...), append(o, h.Ours...), append(th, h.Theirs...)
		ok := true
		switch h.Kind {
		case Unchanged:
			ok = bytes.Equal(h.Base, h.Ours) && bytes.Equal(h.Base, h.Theirs)
		case OursOnly:
			ok = bytes.Equal(h.Base, h.Theirs) && !bytes.Equal(h.Base, h.Ours)
		case TheirsOnly:
			ok = bytes.Equal(h.Base, h.Ours) && !bytes.Equal(h.Base, h.Theirs)
		case Same:
			ok = bytes.Equal(h.Ours, h.Theirs)
		case Conflict:
			ok = !refined || !bytes.Equal(h.Ours, h.Theirs)
		}
		if !ok {
			t.Fatalf("%s hunk with base %q ours %q theirs %q\nin merge of base %q ours %q theirs %q", h.Kind, h.Base, h.Ours, h.Theirs, base, ours, theirs)
		}
	}
	if !bytes.Equal(b, base) || !bytes.Equal(o, ours) || !bytes.Equal(th, theirs) {
		t.Fatalf("hunks do not cover the inputs:\nbase %q\nours %q\ntheirs %q", b, o, th)
	}
}

// checkIdentities asserts the merge identities and the hunk invariants for
// one triple; FuzzMerge and the property test share it.
func checkIdentities(t *testing.T, base, x, y []byte) {
	t.Helper()
	for _, c := range []struct {
		name         string
		ours, theirs []byte
		want         []byte
	}{{"merge(b, x, b)", x, base, x}, {"merge(b, b, y)", base, y, y}, {"merge(b, x, x)", x, x, x}} {
		r := Merge(base, c.ours, c.theirs)
		checkHunks(t, base, c.ours, c.theirs, r.Hunks, true)
		if r.Conflicts != 0 || r.MarkerConflicts(StyleDiff3) != 0 {
			t.Fatalf("%s conflicted: base %q x %q y %q", c.name, base, x, y)
		}
		for _, got := range [][]byte{r.Markers(MarkerOptions{}), r.Resolve(objects.SideOurs), r.Resolve(objects.SideTheirs),
			r.Markers(MarkerOptions{Style: StyleDiff3})} {
			if !bytes.Equal(got, c.want) {
				t.Fatalf("%s = %q, want %q (base %q)", c.name, got, c.want, base)
			}
		}
	}
	r := Merge(base, x, y)
	checkHunks(t, base, x, y, r.Hunks, true)
	checkHunks(t, base, x, y, r.diff3, false)
	checkCleanChangesKept(t, r)
	if r.Conflicts != countConflicts(r.Hunks) {
		t.Fatalf("Conflicts = %d, hunks hold %d", r.Conflicts, countConflicts(r.Hunks))
	}
	if r.Conflicts == 0 {
		m := r.Markers(MarkerOptions{})
		if !bytes.Equal(m, r.Resolve(objects.SideOurs)) || !bytes.Equal(m, r.Resolve(objects.SideTheirs)) {
			t.Fatalf("a clean merge resolves differently per side")
		}
	}
}

func randomText(r *rand.Rand, n int) []byte {
	var b []byte
	for range n {
		switch r.IntN(8) {
		case 0:
			b = append(b, "}\n"...)
		case 1:
			b = append(b, "\r\n"...)
		default:
			b = append(b, byte('a'+r.IntN(6)), '\n')
		}
	}
	if len(b) > 0 && r.IntN(4) == 0 {
		b = b[:len(b)-1]
	}
	return b
}

func mutateText(r *rand.Rand, text []byte) []byte {
	ls := Lines(text)
	for range r.IntN(5) {
		p := r.IntN(len(ls) + 1)
		switch r.IntN(3) {
		case 0:
			ls = slices.Insert(ls, p, Lines(randomText(r, 1+r.IntN(3)))...)
		case 1:
			if p < len(ls) {
				ls = slices.Delete(ls, p, min(p+1+r.IntN(3), len(ls)))
			}
		default:
			if p < len(ls) {
				ls[p] = []byte{byte('a' + r.IntN(6)), '\n'}
			}
		}
	}
	return bytes.Join(ls, nil)
}

func TestMergeProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 3000 {
		base := randomText(r, r.IntN(25))
		checkIdentities(t, base, mutateText(r, base), mutateText(r, base))
	}
}

// TestZeroResult: the zero Result is an empty clean merge.
func TestZeroResult(t *testing.T) {
	var r Result
	if len(r.Resolve(objects.SideOurs)) != 0 || len(r.Markers(MarkerOptions{Style: StyleZDiff3})) != 0 || r.ConflictPaths() != nil {
		t.Error("zero Result is not an empty merge")
	}
}

// checkCleanChangesKept: whichever side wins, Resolve holds every clean
// change of both sides (the new lines of OursOnly, TheirsOnly and Same
// hunks) at its place, and each conflict as the winner wrote it.
func checkCleanChangesKept(t *testing.T, r Result) {
	t.Helper()
	for _, winner := range []objects.Side{objects.SideOurs, objects.SideTheirs} {
		out := r.Resolve(winner)
		at := 0
		for _, h := range r.Hunks {
			want := h.Ours
			if h.Kind == TheirsOnly || (h.Kind == Conflict && winner == objects.SideTheirs) {
				want = h.Theirs
			}
			if !bytes.HasPrefix(out[at:], want) {
				t.Fatalf("Resolve(%s) lost the %s hunk %q at byte %d", winner, h.Kind, want, at)
			}
			at += len(want)
		}
		if at != len(out) {
			t.Fatalf("Resolve(%s) has %d bytes beyond the hunks", winner, len(out)-at)
		}
	}
}
