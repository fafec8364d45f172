package sequence

// Hunk says that A[A0:A1] was replaced by B[B0:B1]. One of the two ranges
// may be empty (a pure insertion or deletion).
type Hunk struct {
	A0, A1 int
	B0, B1 int
}

// minCostLimit is the least edit cost explored before the heuristic may
// cut the search short; larger inputs get a limit near the square root of
// their size (the same scale as Git's xdiff).
const minCostLimit = 256

// Diff returns the changed regions between a and b, in order, as a
// shortest (or, past the cost limit, a short) edit script.
func Diff(a, b []uint64) []Hunk {
	d := newDiffer(a, b)
	d.compare(0, len(a), 0, len(b))
	return d.hunks()
}

type differ struct {
	a, b      []uint64
	changedA  []bool
	changedB  []bool
	costLimit int
}

func newDiffer(a, b []uint64) *differ {
	limit := minCostLimit
	for limit*limit < len(a)+len(b) {
		limit *= 2
	}
	return &differ{
		a: a, b: b,
		changedA: make([]bool, len(a)), changedB: make([]bool, len(b)),
		costLimit: limit,
	}
}

// compare marks the changed tokens of a[aLo:aHi] against b[bLo:bHi].
func (d *differ) compare(aLo, aHi, bLo, bHi int) {
	for aLo < aHi && bLo < bHi && d.a[aLo] == d.b[bLo] {
		aLo++
		bLo++
	}
	for aLo < aHi && bLo < bHi && d.a[aHi-1] == d.b[bHi-1] {
		aHi--
		bHi--
	}
	switch {
	case aLo == aHi:
		markRange(d.changedB, bLo, bHi)
	case bLo == bHi:
		markRange(d.changedA, aLo, aHi)
	default:
		x, y, ok := d.split(d.a[aLo:aHi], d.b[bLo:bHi])
		if !ok {
			markRange(d.changedA, aLo, aHi)
			markRange(d.changedB, bLo, bHi)
			return
		}
		d.compare(aLo, aLo+x, bLo, bLo+y)
		d.compare(aLo+x, aHi, bLo+y, bHi)
	}
}

func markRange(marks []bool, lo, hi int) {
	for i := lo; i < hi; i++ {
		marks[i] = true
	}
}

// split finds a point (x, y) on a shortest edit path from (0,0) to
// (len(a), len(b)), strictly between the two ends, by searching from both
// ends until the paths meet (Myers' middle snake). a and b are non-empty
// and share no prefix or suffix. ok is false only if no inner point was
// found, which the caller handles by replacing the whole range.
//
// Diagonal k holds the points with x - y = k; fwd[k] is the furthest x
// the forward search reached on it, bwd[k] the same for the search run on
// the reversed sequences, whose diagonal k is diagonal delta-k here. -1
// marks a diagonal not reached yet. Diagonals that leave the grid are
// dropped from the band (kLo/kHi), as in Myers' paper.
func (d *differ) split(a, b []uint64) (x, y int, ok bool) {
	n, m := len(a), len(b)
	maxCost := (n + m + 1) / 2
	off := maxCost + 1
	fwd := make([]int, 2*off+1)
	bwd := make([]int, 2*off+1)
	for i := range fwd {
		fwd[i], bwd[i] = -1, -1
	}
	fwd[off+1], bwd[off+1] = 0, 0
	delta := n - m
	odd := delta&1 != 0
	var fLo, fHi, bLo, bHi int // band trims
	for cost := 0; cost <= maxCost; cost++ {
		for k := -cost + fLo; k <= cost-fHi; k += 2 {
			x := furthest(fwd, off, k, cost)
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			fwd[off+k] = x
			switch {
			case x > n:
				fHi += 2
			case y > m:
				fLo += 2
			case odd:
				if kb := delta - k; kb >= -cost && kb <= cost && bwd[off+kb] >= 0 && x >= n-bwd[off+kb] {
					return x, y, inside(x, y, n, m)
				}
			}
		}
		for k := -cost + bLo; k <= cost-bHi; k += 2 {
			x := furthest(bwd, off, k, cost)
			y := x - k
			for x < n && y < m && a[n-1-x] == b[m-1-y] {
				x++
				y++
			}
			bwd[off+k] = x
			switch {
			case x > n:
				bHi += 2
			case y > m:
				bLo += 2
			case !odd:
				if kf := delta - k; kf >= -cost && kf <= cost && fwd[off+kf] >= 0 && fwd[off+kf] >= n-x {
					return n - x, m - y, inside(n-x, m-y, n, m)
				}
			}
		}
		if cost >= d.costLimit {
			return bestEffortSplit(fwd, bwd, off, n, m)
		}
	}
	return 0, 0, false
}

// furthest picks the better predecessor for diagonal k at the given cost:
// a step down from k+1 or a step right from k-1.
func furthest(v []int, off, k, cost int) int {
	if k == -cost || (k != cost && v[off+k-1] < v[off+k+1]) {
		return v[off+k+1]
	}
	return v[off+k-1] + 1
}

func inside(x, y, n, m int) bool {
	return (x > 0 || y > 0) && (x < n || y < m)
}

// bestEffortSplit is the cost-limit heuristic: split at the point either
// search pushed furthest (largest x+y), preferring the forward search and
// the lowest diagonal on ties, so the choice is deterministic.
func bestEffortSplit(fwd, bwd []int, off, n, m int) (int, int, bool) {
	bestX, bestY, best := 0, 0, -1
	consider := func(v []int, reversed bool) {
		for i, x := range v {
			k := i - off
			y := x - k
			if x < 0 || x > n || y < 0 || y > m || x+y <= best {
				continue
			}
			px, py := x, y
			if reversed {
				px, py = n-x, m-y
			}
			if inside(px, py, n, m) {
				bestX, bestY, best = px, py, x+y
			}
		}
	}
	consider(fwd, false)
	consider(bwd, true)
	return bestX, bestY, best >= 0
}

// hunks turns the change marks into ordered hunks.
func (d *differ) hunks() []Hunk {
	var out []Hunk
	i, j := 0, 0
	for i < len(d.a) || j < len(d.b) {
		if i < len(d.a) && j < len(d.b) && !d.changedA[i] && !d.changedB[j] {
			i++
			j++
			continue
		}
		h := Hunk{A0: i, B0: j}
		for i < len(d.a) && d.changedA[i] {
			i++
		}
		for j < len(d.b) && d.changedB[j] {
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
