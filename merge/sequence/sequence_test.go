package sequence

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// apply rebuilds b from a and the hunks, checking that unchanged tokens
// really are equal.
func apply(t *testing.T, a, b []uint64, hunks []Hunk) []uint64 {
	t.Helper()
	var out []uint64
	ai, bi := 0, 0
	for _, h := range hunks {
		if h.A0 < ai || h.A1 < h.A0 || h.B1 < h.B0 || h.A0-ai != h.B0-bi {
			t.Fatalf("bad hunk %+v after a=%d b=%d", h, ai, bi)
		}
		if !slices.Equal(a[ai:h.A0], b[bi:h.B0]) {
			t.Fatalf("unchanged stretch before %+v differs", h)
		}
		out = append(out, a[ai:h.A0]...)
		out = append(out, b[h.B0:h.B1]...)
		ai, bi = h.A1, h.B1
	}
	out = append(out, a[ai:]...)
	return out
}

func cost(hunks []Hunk) int {
	n := 0
	for _, h := range hunks {
		n += h.A1 - h.A0 + h.B1 - h.B0
	}
	return n
}

// lcsCost is the shortest edit script length by dynamic programming.
func lcsCost(a, b []uint64) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return len(a) + len(b) - 2*prev[len(b)]
}

func randomSeq(r *rand.Rand, n, alphabet int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(r.IntN(alphabet))
	}
	return s
}

func mutate(r *rand.Rand, s []uint64, edits, alphabet int) []uint64 {
	out := slices.Clone(s)
	for range edits {
		pos := r.IntN(len(out) + 1)
		switch r.IntN(3) {
		case 0:
			out = slices.Insert(out, pos, uint64(r.IntN(alphabet)))
		case 1:
			if pos < len(out) {
				out = slices.Delete(out, pos, pos+1)
			}
		default:
			if pos < len(out) {
				out[pos] = uint64(r.IntN(alphabet))
			}
		}
	}
	return out
}

// hasVeryCommonToken reports whether pruning may drop a token that has
// matches (one that occurs at least bogoSqrt(len) times in the other
// input): only then may Diff's script be longer than the shortest.
func hasVeryCommonToken(a, b []uint64) bool {
	count := func(s []uint64, t uint64) int {
		n := 0
		for _, u := range s {
			if u == t {
				n++
			}
		}
		return n
	}
	for _, t := range a {
		if count(b, t) >= bogoSqrt(len(a)) {
			return true
		}
	}
	for _, t := range b {
		if count(a, t) >= bogoSqrt(len(b)) {
			return true
		}
	}
	return false
}

// TestDiffIsShortestAndCorrect: the script always rebuilds b, and it is a
// shortest one unless pruning of very common tokens applies.
func TestDiffIsShortestAndCorrect(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		alphabet := 1 + r.IntN(6)
		if r.IntN(2) == 0 {
			alphabet = 20 + r.IntN(40) // few repeats: pruning rarely applies
		}
		a := randomSeq(r, r.IntN(30), alphabet)
		b := mutate(r, a, r.IntN(12), alphabet)
		if r.IntN(4) == 0 {
			b = randomSeq(r, r.IntN(30), alphabet)
		}
		hunks := Diff(a, b)
		if got := apply(t, a, b, hunks); !slices.Equal(got, b) {
			t.Fatalf("case %d: diff of %v -> %v rebuilds %v", i, a, b, got)
		}
		got, want := cost(hunks), lcsCost(a, b)
		if got < want || (got != want && !hasVeryCommonToken(a, b)) {
			t.Fatalf("case %d: edit cost %d, shortest is %d (%v -> %v)", i, got, want, a, b)
		}
	}
}

func TestDiffPastCostLimitIsStillCorrect(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a := randomSeq(r, 3000, 50)
	b := randomSeq(r, 3000, 50)
	hunks := Diff(a, b)
	if got := apply(t, a, b, hunks); !slices.Equal(got, b) {
		t.Fatal("diff past the cost limit does not rebuild b")
	}
}

// rebuild concatenates a merge taking ours for conflicts.
func rebuild(base, ours, theirs []uint64, regions []Region) []uint64 {
	var out []uint64
	for _, r := range regions {
		switch r.Kind {
		case Stable:
			out = append(out, base[r.Base.Lo:r.Base.Hi]...)
		case TheirsOnly:
			out = append(out, theirs[r.Theirs.Lo:r.Theirs.Hi]...)
		default:
			out = append(out, ours[r.Ours.Lo:r.Ours.Hi]...)
		}
	}
	return out
}

func checkCoverage(t *testing.T, base, ours, theirs []uint64, regions []Region) {
	t.Helper()
	var b, o, th int
	for _, r := range regions {
		if r.Base.Lo != b || r.Ours.Lo != o || r.Theirs.Lo != th {
			t.Fatalf("gap before %+v (at %d %d %d)", r, b, o, th)
		}
		b, o, th = r.Base.Hi, r.Ours.Hi, r.Theirs.Hi
		if r.Kind == Stable && (!slices.Equal(base[r.Base.Lo:r.Base.Hi], ours[r.Ours.Lo:r.Ours.Hi]) ||
			!slices.Equal(base[r.Base.Lo:r.Base.Hi], theirs[r.Theirs.Lo:r.Theirs.Hi])) {
			t.Fatalf("stable region %+v differs between inputs", r)
		}
		if (r.Kind == OursOnly && !slices.Equal(base[r.Base.Lo:r.Base.Hi], theirs[r.Theirs.Lo:r.Theirs.Hi])) ||
			(r.Kind == TheirsOnly && !slices.Equal(base[r.Base.Lo:r.Base.Hi], ours[r.Ours.Lo:r.Ours.Hi])) {
			t.Fatalf("one-sided region %+v changes the other side too", r)
		}
	}
	if b != len(base) || o != len(ours) || th != len(theirs) {
		t.Fatalf("regions end at %d %d %d, inputs are %d %d %d long", b, o, th, len(base), len(ours), len(theirs))
	}
}

func TestMergeIdentities(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 3000 {
		base := randomSeq(r, r.IntN(40), 8)
		x := mutate(r, base, r.IntN(8), 8)
		y := mutate(r, base, r.IntN(8), 8)
		for _, g := range []Grouping{Touching, Overlapping} {
			checkIdentities(t, base, x, y, g)
			checkCoverage(t, base, x, y, Merge(base, x, y, g))
		}
	}
}

// checkIdentities: merging with an unchanged side, or two equal sides,
// never conflicts and gives the changed side.
func checkIdentities(t *testing.T, base, x, y []uint64, g Grouping) {
	t.Helper()
	for _, c := range []struct{ ours, theirs, want []uint64 }{{x, base, x}, {base, y, y}, {x, x, x}} {
		regions := Merge(base, c.ours, c.theirs, g)
		checkCoverage(t, base, c.ours, c.theirs, regions)
		for _, reg := range regions {
			if reg.Kind == Conflict {
				t.Fatalf("identity merge conflicted: base %v ours %v theirs %v", base, c.ours, c.theirs)
			}
		}
		if got := rebuild(base, c.ours, c.theirs, regions); !slices.Equal(got, c.want) {
			t.Fatalf("merge(%v, %v, %v) = %v, want %v", base, c.ours, c.theirs, got, c.want)
		}
	}
}

func TestMergeTable(t *testing.T) {
	seq := func(s string) []uint64 {
		out := make([]uint64, len(s))
		for i, c := range s {
			out[i] = uint64(c)
		}
		return out
	}
	kinds := func(regions []Region) string {
		s := ""
		for _, r := range regions {
			s += r.Kind.String()[:1]
		}
		return s
	}
	for _, c := range []struct{ base, ours, theirs, touching, overlapping string }{
		{"abcdefg", "aXcdefg", "abcdeYg", "sosts", "sosts"}, // apart: clean
		{"abcdefg", "aXcdefg", "abYdefg", "scs", "sots"},    // neighbours: conflict as git; apart by element
		{"abcdefg", "aXcdefg", "aXcdefg", "sbs", "sbs"},     // same change
		{"abcdefg", "aXcdefg", "aYcdefg", "scs", "scs"},     // same spot
		{"abc", "abcX", "abcY", "sc", "sc"},                 // both append
		{"abc", "abcX", "abcX", "sb", "sb"},                 // both append the same
		{"", "X", "Y", "c", "c"},                            // add/add
		{"abc", "aXc", "ac", "scs", "scs"},                  // modify/delete
		{"abc", "aXbc", "aYc", "scs", "sots"},               // insert before an edited element
		{"abc", "abXc", "aYc", "scs", "stos"},               // insert after an edited element
		{"abc", "ac", "aXbc", "scs", "stos"},                // delete next to an insertion
		{"abcd", "ad", "abXcd", "scs", "scs"},               // insertion inside a deleted range
	} {
		for _, g := range []struct {
			g    Grouping
			want string
		}{{Touching, c.touching}, {Overlapping, c.overlapping}} {
			got := kinds(Merge(seq(c.base), seq(c.ours), seq(c.theirs), g.g))
			if got != g.want {
				t.Errorf("merge(%q, %q, %q, %d) kinds %q, want %q", c.base, c.ours, c.theirs, g.g, got, g.want)
			}
		}
	}
}

// FuzzDiff: any two token sequences (one token per byte) get a script that
// rebuilds b from a, hunks in order.
func FuzzDiff(f *testing.F) {
	f.Add([]byte("abcabba"), []byte("cbabac"))
	f.Add([]byte(""), []byte("xyz"))
	f.Add([]byte("aaaaaaaaaabaaaaaaaaa"), []byte("aaaaaaaaaaaaaaaacaaaa"))
	f.Fuzz(func(t *testing.T, x, y []byte) {
		a, b := bytesToTokens(x), bytesToTokens(y)
		if got := apply(t, a, b, Diff(a, b)); !slices.Equal(got, b) {
			t.Fatalf("diff of %v -> %v rebuilds %v", a, b, got)
		}
	})
}

// FuzzMerge: with either grouping, regions cover the three inputs without
// gaps, stable regions really are equal, and the merge identities hold.
func FuzzMerge(f *testing.F) {
	f.Add([]byte("abcdefg"), []byte("aXcdefg"), []byte("abcdeYg"))
	f.Add([]byte("abc"), []byte("abcX"), []byte("abcY"))
	f.Add([]byte(""), []byte("X"), []byte("Y"))
	f.Add([]byte("abc"), []byte("aXbc"), []byte("aYc"))
	f.Add([]byte("abcd"), []byte("ad"), []byte("abXcd"))
	f.Fuzz(func(t *testing.T, b, x, y []byte) {
		base, ours, theirs := bytesToTokens(b), bytesToTokens(x), bytesToTokens(y)
		for _, g := range []Grouping{Touching, Overlapping} {
			checkCoverage(t, base, ours, theirs, Merge(base, ours, theirs, g))
			checkIdentities(t, base, ours, theirs, g)
		}
	})
}

func bytesToTokens(b []byte) []uint64 {
	out := make([]uint64, len(b))
	for i, c := range b {
		out[i] = uint64(c) << 40 // sparse values: the map counter
	}
	return out
}

// TestDiffLargeInputsStayCorrect runs the cost-limit heuristics (long
// inputs that share many tokens in scrambled order) and checks the script.
func TestDiffLargeInputsStayCorrect(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 5 {
		a := randomSeq(r, 4000, 300)
		b := slices.Clone(a)
		lo := r.IntN(1000)
		slices.Reverse(b[lo : lo+2000])
		b = mutate(r, b, 200, 300)
		if got := apply(t, a, b, Diff(a, b)); !slices.Equal(got, b) {
			t.Fatal("diff past the cost limits does not rebuild b")
		}
	}
}

func BenchmarkDiff(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randomSeq(r, 100_000, 50_000)
	y := mutate(r, x, 200, 50_000)
	b.ReportAllocs()
	for b.Loop() {
		Diff(x, y)
	}
}

// TestDiffMovedBlocksStayCorrect: a large block moved far leaves long
// matching runs at a high edit cost, where the good-snake heuristic ends
// the search early; the script must still be correct.
func TestDiffMovedBlocksStayCorrect(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 5 {
		a := randomSeq(r, 5000, 100_000)
		b := append(slices.Clone(a[1500:]), a[:1500]...)
		b = mutate(r, b, 300, 100_000)
		if got := apply(t, a, b, Diff(a, b)); !slices.Equal(got, b) {
			t.Fatal("diff of a moved block does not rebuild b")
		}
	}
}

// TestDiffGoodSnakeHeuristic: inputs long enough (over 65,536 tokens in
// all) that the cost limit exceeds 256, with a change every 25 tokens so
// the search finds long matching runs past cost 256 and may split there.
// The new tokens are copied from elsewhere in a, so pruning keeps them.
func TestDiffGoodSnakeHeuristic(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	a := randomSeq(r, 40_000, 1<<30)
	b := slices.Clone(a)
	for i := 0; i < len(b); i += 25 {
		b[i] = a[r.IntN(len(a))]
	}
	hunks := Diff(a, b)
	if got := apply(t, a, b, hunks); !slices.Equal(got, b) {
		t.Fatal("diff with good snakes does not rebuild b")
	}
	r2 := rand.New(rand.NewPCG(17, 18))
	a2 := randomSeq(r2, 40_000, 1<<30)
	b2 := append(slices.Clone(a2[20_000:]), a2[:20_000]...)
	for i := 0; i < len(b2); i += 25 {
		b2[i] = a2[r2.IntN(len(a2))]
	}
	if got := apply(t, a2, b2, Diff(a2, b2)); !slices.Equal(got, b2) {
		t.Fatal("diff with good snakes does not rebuild b")
	}
}
