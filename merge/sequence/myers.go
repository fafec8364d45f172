package sequence

import "math"

// Cost limits of the search, xdiff's values: past heurMinCost a split may
// be taken at a long enough snake that reaches far, and past maxCost (at
// least minMaxCost, else about the square root of the input size) at the
// furthest point reached. Either way the result stays a correct script.
const (
	snakeLen   = 20  // a snake longer than this is a "good" one
	heurMin    = 256 // edit cost from which good snakes may end the search
	minMaxCost = 256
	heurFactor = 4 // how far past the cost a good snake must reach
)

// search runs the Myers middle-snake recursion over the pruned tokens a
// and b; idxA and idxB map their positions back to the sides to mark.
// fwd and bwd are the furthest-reaching x per diagonal (x - y) of the
// forward and backward searches, shared by every level of the recursion:
// each split initialises the part it reads.
type search struct {
	a, b       []uint64
	idxA, idxB []int
	sideA      *side
	sideB      *side
	fwd, bwd   []int
	zero       int // index of diagonal 0 in fwd and bwd
	maxCost    int
}

func newSearch(a, b []uint64, idxA, idxB []int, sideA, sideB *side) *search {
	diags := len(a) + len(b) + 3
	return &search{
		a: a, b: b, idxA: idxA, idxB: idxB, sideA: sideA, sideB: sideB,
		fwd: make([]int, diags), bwd: make([]int, diags),
		zero:    len(b) + 1,
		maxCost: max(bogoSqrt(diags), minMaxCost),
	}
}

// compare marks the changes between a[lo1:hi1] and b[lo2:hi2]. exact turns
// the cost heuristics off: xdiff keeps them only along the chain of
// splits that were themselves heuristic.
func (s *search) compare(lo1, hi1, lo2, hi2 int, exact bool) {
	for lo1 < hi1 && lo2 < hi2 && s.a[lo1] == s.b[lo2] {
		lo1++
		lo2++
	}
	for lo1 < hi1 && lo2 < hi2 && s.a[hi1-1] == s.b[hi2-1] {
		hi1--
		hi2--
	}
	switch {
	case lo1 == hi1:
		for ; lo2 < hi2; lo2++ {
			s.sideB.mark(s.idxB[lo2], true)
		}
	case lo2 == hi2:
		for ; lo1 < hi1; lo1++ {
			s.sideA.mark(s.idxA[lo1], true)
		}
	default:
		p := s.split(lo1, hi1, lo2, hi2, exact)
		s.compare(lo1, p.x, lo2, p.y, p.exactBefore)
		s.compare(p.x, hi1, p.y, hi2, p.exactAfter)
	}
}

// splitPoint is where compare divides a box, and whether each half must
// be searched exactly.
type splitPoint struct {
	x, y                    int
	exactBefore, exactAfter bool
}

// split finds where the forward search from (lo1, lo2) and the backward
// search from (hi1, hi2) meet, one edit cost at a time. The box has no
// common prefix or suffix and neither dimension is empty.
func (s *search) split(lo1, hi1, lo2, hi2 int, exact bool) splitPoint {
	a, b, fwd, bwd, z := s.a, s.b, s.fwd, s.bwd, s.zero
	dMin, dMax := lo1-hi2, hi1-lo2
	fMid, bMid := lo1-lo2, hi1-hi2
	odd := (fMid-bMid)&1 != 0
	fMin, fMax := fMid, fMid
	bMin, bMax := bMid, bMid
	fwd[z+fMid] = lo1
	bwd[z+bMid] = hi1

	for cost := 1; ; cost++ {
		goodSnake := false

		// Widen the forward band by one diagonal each way, or narrow it
		// where it would leave the box; guard the new edges.
		if fMin > dMin {
			fMin--
			fwd[z+fMin-1] = -1
		} else {
			fMin++
		}
		if fMax < dMax {
			fMax++
			fwd[z+fMax+1] = -1
		} else {
			fMax--
		}
		for d := fMax; d >= fMin; d -= 2 {
			x := fwd[z+d+1]
			if fwd[z+d-1] >= x {
				x = fwd[z+d-1] + 1
			}
			start := x
			y := x - d
			for x < hi1 && y < hi2 && a[x] == b[y] {
				x++
				y++
			}
			if x-start > snakeLen {
				goodSnake = true
			}
			fwd[z+d] = x
			if odd && bMin <= d && d <= bMax && bwd[z+d] <= x {
				return splitPoint{x, y, true, true}
			}
		}

		if bMin > dMin {
			bMin--
			bwd[z+bMin-1] = math.MaxInt
		} else {
			bMin++
		}
		if bMax < dMax {
			bMax++
			bwd[z+bMax+1] = math.MaxInt
		} else {
			bMax--
		}
		for d := bMax; d >= bMin; d -= 2 {
			x := bwd[z+d+1] - 1
			if bwd[z+d-1] < bwd[z+d+1] {
				x = bwd[z+d-1]
			}
			start := x
			y := x - d
			for x > lo1 && y > lo2 && a[x-1] == b[y-1] {
				x--
				y--
			}
			if start-x > snakeLen {
				goodSnake = true
			}
			bwd[z+d] = x
			if !odd && fMin <= d && d <= fMax && x <= fwd[z+d] {
				return splitPoint{x, y, true, true}
			}
		}

		if exact {
			continue
		}
		if goodSnake && cost > heurMin {
			if p, ok := s.goodForwardSnake(lo1, hi1, lo2, hi2, fMin, fMax, fMid, cost); ok {
				return p
			}
			if p, ok := s.goodBackwardSnake(lo1, hi1, lo2, hi2, bMin, bMax, bMid, cost); ok {
				return p
			}
		}
		if cost >= s.maxCost {
			return s.furthestPoint(lo1, hi1, lo2, hi2, fMin, fMax, bMin, bMax)
		}
	}
}

// goodForwardSnake looks for a forward path that got far (measured from
// the start corner, less its distance from the middle diagonal) and ends
// in snakeLen matching tokens; the part before it is then searched
// exactly and the rest with the heuristics still on.
func (s *search) goodForwardSnake(lo1, hi1, lo2, hi2, fMin, fMax, fMid, cost int) (splitPoint, bool) {
	best := 0
	var p splitPoint
	for d := fMax; d >= fMin; d -= 2 {
		x := s.fwd[s.zero+d]
		y := x - d
		v := (x - lo1) + (y - lo2) - abs(d-fMid)
		if v > heurFactor*cost && v > best &&
			lo1+snakeLen <= x && x < hi1 && lo2+snakeLen <= y && y < hi2 &&
			s.matchRun(x-snakeLen, y-snakeLen) {
			best = v
			p = splitPoint{x, y, true, false}
		}
	}
	return p, best > 0
}

// goodBackwardSnake is goodForwardSnake for the backward search.
func (s *search) goodBackwardSnake(lo1, hi1, lo2, hi2, bMin, bMax, bMid, cost int) (splitPoint, bool) {
	best := 0
	var p splitPoint
	for d := bMax; d >= bMin; d -= 2 {
		x := s.bwd[s.zero+d]
		y := x - d
		v := (hi1 - x) + (hi2 - y) - abs(d-bMid)
		if v > heurFactor*cost && v > best &&
			lo1 < x && x <= hi1-snakeLen && lo2 < y && y <= hi2-snakeLen &&
			s.matchRun(x, y) {
			best = v
			p = splitPoint{x, y, false, true}
		}
	}
	return p, best > 0
}

// matchRun reports whether snakeLen tokens match from a[x] and b[y] on.
func (s *search) matchRun(x, y int) bool {
	for k := range snakeLen {
		if s.a[x+k] != s.b[y+k] {
			return false
		}
	}
	return true
}

// furthestPoint gives up on an optimal split: it takes the point either
// search pushed furthest (by x + y), the forward one unless the backward
// one got strictly further; ties within a search go to the highest
// diagonal, as in xdiff.
func (s *search) furthestPoint(lo1, hi1, lo2, hi2, fMin, fMax, bMin, bMax int) splitPoint {
	fBest, fX := -1, -1
	for d := fMax; d >= fMin; d -= 2 {
		x := min(s.fwd[s.zero+d], hi1)
		y := x - d
		if hi2 < y {
			x, y = hi2+d, hi2
		}
		if fBest < x+y {
			fBest, fX = x+y, x
		}
	}
	bBest, bX := math.MaxInt, math.MaxInt
	for d := bMax; d >= bMin; d -= 2 {
		x := max(lo1, s.bwd[s.zero+d])
		y := x - d
		if y < lo2 {
			x, y = lo2+d, lo2
		}
		if x+y < bBest {
			bBest, bX = x+y, x
		}
	}
	if (hi1+hi2)-bBest < fBest-(lo1+lo2) {
		return splitPoint{fX, fBest - fX, true, false}
	}
	return splitPoint{bX, bBest - bX, false, true}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
