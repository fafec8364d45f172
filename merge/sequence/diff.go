package sequence

// Hunk says that A[A0:A1] was replaced by B[B0:B1]. One of the two ranges
// may be empty (a pure insertion or deletion).
type Hunk struct {
	A0, A1 int
	B0, B1 int
}

// Diff returns the changed regions between a and b, in order. It makes the
// same choices as Git's xdiff (the Myers algorithm git merge-file and git
// diff use by default, without the indent heuristic), so that merges built
// on it agree with Git line for line:
//
//  1. the common prefix and suffix are set aside;
//  2. tokens that never occur in the other input are marked changed
//     without being searched, and so are tokens that occur very often in
//     the other input when they sit in a run of such changed tokens;
//  3. the rest is diffed by Myers' middle-snake recursion, with xdiff's
//     cost limits for inputs that share little;
//  4. each group of changes is slid down as far as it goes, then back up
//     to line up with a change group of the other input if it met one.
//
// The script is correct (it rebuilds b from a) and short, though step 2
// and the cost limits can make it longer than the shortest one.
func Diff(a, b []uint64) []Hunk {
	x := newSide(a)
	y := newSide(b)
	markChanges(x, y)
	compact(x, y)
	compact(y, x)
	return hunks(x, y)
}

// side is one input of a diff and its change marks. changed has a false
// sentinel before the first and after the last token, so group scans need
// no bounds checks.
type side struct {
	tok     []uint64
	changed []bool
}

func newSide(tok []uint64) *side {
	return &side{tok: tok, changed: make([]bool, len(tok)+2)}
}

func (s *side) isChanged(i int) bool { return s.changed[i+1] }
func (s *side) mark(i int, c bool)   { s.changed[i+1] = c }

// markChanges marks every changed token of x and y (steps 1 to 3).
func markChanges(x, y *side) {
	n, m := len(x.tok), len(y.tok)
	pre := 0
	for pre < n && pre < m && x.tok[pre] == y.tok[pre] {
		pre++
	}
	suf := 0
	for suf < n-pre && suf < m-pre && x.tok[n-1-suf] == y.tok[m-1-suf] {
		suf++
	}
	countX, countY := countTokens(x.tok, y.tok)
	keptX, idxX := prune(x, pre, n-suf, countY)
	keptY, idxY := prune(y, pre, m-suf, countX)
	s := newSearch(keptX, keptY, idxX, idxY, x, y)
	s.compare(0, len(keptX), 0, len(keptY), false)
}

// Token classes for pruning, as in xdiff's xdl_cleanup_records.
const (
	tokDiscard     = 0 // no match in the other input: changed for sure
	tokKeep        = 1 // some matches: searched
	tokInvestigate = 2 // very many matches: kept unless amid discarded tokens
)

// maxEqualLimit caps the match count that makes a token "very common".
const maxEqualLimit = 1024

// prune returns the tokens of s[lo:hi] that the search must consider and
// their positions in s; the others are marked changed at once.
func prune(s *side, lo, hi int, otherCount func(uint64) int) ([]uint64, []int) {
	limit := min(bogoSqrt(len(s.tok)), maxEqualLimit)
	class := make([]uint8, hi-lo)
	for i := lo; i < hi; i++ {
		switch nm := otherCount(s.tok[i]); {
		case nm == 0:
			class[i-lo] = tokDiscard
		case nm >= limit:
			class[i-lo] = tokInvestigate
		default:
			class[i-lo] = tokKeep
		}
	}
	kept := make([]uint64, 0, hi-lo)
	idx := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		c := class[i-lo]
		if c == tokKeep || (c == tokInvestigate && !amidDiscards(class, i-lo)) {
			kept = append(kept, s.tok[i])
			idx = append(idx, i)
		} else {
			s.mark(i, true)
		}
	}
	return kept, idx
}

// scanWindow bounds how far amidDiscards looks on each side.
const scanWindow = 100

// amidDiscards reports whether the very common token at i sits in a run of
// discarded and very common tokens that is mostly discarded ones: such a
// token would only lure the search into a poor alignment.
func amidDiscards(class []uint8, i int) bool {
	lo, hi := max(0, i-scanWindow), min(len(class)-1, i+scanWindow)
	discBefore, commonBefore := 0, 1
	for j := i - 1; j >= lo && class[j] != tokKeep; j-- {
		if class[j] == tokDiscard {
			discBefore++
		} else {
			commonBefore++
		}
	}
	if discBefore == 0 {
		return false
	}
	discAfter, commonAfter := 0, 1
	for j := i + 1; j <= hi && class[j] != tokKeep; j++ {
		if class[j] == tokDiscard {
			discAfter++
		} else {
			commonAfter++
		}
	}
	if discAfter == 0 {
		return false
	}
	disc := discBefore + discAfter
	common := commonBefore + commonAfter
	return common*4 < common+disc
}

// bogoSqrt is xdiff's power-of-two estimate of the square root (at least
// 1, at most twice the true root); the limits derived from it must match
// xdiff's exactly.
func bogoSqrt(n int) int {
	r := 1
	for ; n > 0; n >>= 2 {
		r <<= 1
	}
	return r
}

// countTokens returns, for each input, how often a token occurs in it. Dense
// token values (as text merge assigns them) are counted in a slice, others
// in a map.
func countTokens(a, b []uint64) (countA, countB func(uint64) int) {
	var top uint64
	for _, t := range a {
		top = max(top, t)
	}
	for _, t := range b {
		top = max(top, t)
	}
	if top < uint64(4*(len(a)+len(b))+64) {
		ca := make([]int32, top+1)
		cb := make([]int32, top+1)
		for _, t := range a {
			ca[t]++
		}
		for _, t := range b {
			cb[t]++
		}
		return func(t uint64) int { return int(ca[t]) }, func(t uint64) int { return int(cb[t]) }
	}
	ma := make(map[uint64]int, len(a))
	mb := make(map[uint64]int, len(b))
	for _, t := range a {
		ma[t]++
	}
	for _, t := range b {
		mb[t]++
	}
	return func(t uint64) int { return ma[t] }, func(t uint64) int { return mb[t] }
}

// hunks turns the change marks into ordered hunks.
func hunks(x, y *side) []Hunk {
	var out []Hunk
	n, m := len(x.tok), len(y.tok)
	i, j := 0, 0
	for i < n || j < m {
		if i < n && j < m && !x.isChanged(i) && !y.isChanged(j) {
			i++
			j++
			continue
		}
		h := Hunk{A0: i, B0: j}
		for i < n && x.isChanged(i) {
			i++
		}
		for j < m && y.isChanged(j) {
			j++
		}
		if h.A0 == i && h.B0 == j {
			// Unpaired unchanged tokens can only come from a bug in
			// the marking; fail loudly rather than loop forever.
			panic("sequence: inconsistent change marks")
		}
		h.A1, h.B1 = i, j
		out = append(out, h)
	}
	return out
}
