package sequence

// RegionKind classifies one span of a three-way merge.
type RegionKind uint8

// Region kinds.
const (
	Stable     RegionKind = iota // unchanged on both sides
	OursOnly                     // changed on ours only: take ours
	TheirsOnly                   // changed on theirs only: take theirs
	BothSame                     // changed identically on both sides
	Conflict                     // changed differently on both sides
)

func (k RegionKind) String() string {
	return [...]string{"stable", "ours", "theirs", "both", "conflict"}[k]
}

// Span is a half-open range [Lo, Hi) of token positions.
type Span struct{ Lo, Hi int }

// Len is the number of tokens in the span.
func (s Span) Len() int { return s.Hi - s.Lo }

// Region is one span of the merge: the base range and the matching ranges
// of ours and theirs. Regions cover all three inputs in order, without
// gaps.
type Region struct {
	Kind   RegionKind
	Base   Span
	Ours   Span
	Theirs Span
}

// Grouping says which changes of the two sides form one region.
type Grouping uint8

// Groupings.
const (
	// Touching groups changes whose base ranges overlap or touch, as diff3
	// and git merge-file do: lines next to each other are read together.
	Touching Grouping = iota
	// Overlapping groups only changes that share a base token, an
	// insertion with a change that spans its point, and two insertions at
	// the same point: changes to neighbouring tokens stay apart. For
	// tokens that stand alone, such as the elements of a JSON array.
	Overlapping
)

// Merge three-way merges two sequences that both derive from base.
// Changes are grouped as g says; a group changed on one side only takes
// that side, a group changed the same way on both sides is BothSame, any
// other group is a Conflict.
func Merge(base, ours, theirs []uint64, g Grouping) []Region {
	return mergeHunks(base, ours, theirs, Diff(base, ours), Diff(base, theirs), g)
}

func mergeHunks(base, ours, theirs []uint64, oursHunks, theirsHunks []Hunk, g Grouping) []Region {
	var regions []Region
	emitStable := func(baseLo, baseHi, oursLo, theirsLo int) {
		if baseHi > baseLo {
			n := baseHi - baseLo
			regions = append(regions, Region{Kind: Stable,
				Base: Span{baseLo, baseHi}, Ours: Span{oursLo, oursLo + n}, Theirs: Span{theirsLo, theirsLo + n}})
		}
	}
	joins := func(lo, hi int, h Hunk) bool {
		if g == Touching {
			return h.A0 <= hi
		}
		return overlaps(lo, hi, h.A0, h.A1)
	}
	// shift[side] is (position in side) - (position in base) after the
	// hunks consumed so far, valid in the stable stretch that follows.
	var oursShift, theirsShift int
	basePos := 0
	i, j := 0, 0
	for i < len(oursHunks) || j < len(theirsHunks) {
		// Start a group with whichever hunk comes first in base order
		// (an insertion before a change that starts at its point).
		oursFrom, theirsFrom := i, j
		var lo, hi int
		if j == len(theirsHunks) || (i < len(oursHunks) && !before(theirsHunks[j], oursHunks[i])) {
			lo, hi = oursHunks[i].A0, oursHunks[i].A1
			i++
		} else {
			lo, hi = theirsHunks[j].A0, theirsHunks[j].A1
			j++
		}
		// Grow the group while a hunk of either side joins it.
		for grew := true; grew; {
			grew = false
			if i < len(oursHunks) && joins(lo, hi, oursHunks[i]) {
				hi = max(hi, oursHunks[i].A1)
				i++
				grew = true
			}
			if j < len(theirsHunks) && joins(lo, hi, theirsHunks[j]) {
				hi = max(hi, theirsHunks[j].A1)
				j++
				grew = true
			}
		}
		emitStable(basePos, lo, basePos+oursShift, basePos+theirsShift)
		oursSpan, newOursShift := sideSpan(oursHunks[oursFrom:i], lo, hi, oursShift)
		theirsSpan, newTheirsShift := sideSpan(theirsHunks[theirsFrom:j], lo, hi, theirsShift)
		r := Region{Base: Span{lo, hi}, Ours: oursSpan, Theirs: theirsSpan}
		switch {
		case i == oursFrom:
			r.Kind = TheirsOnly
		case j == theirsFrom:
			r.Kind = OursOnly
		case equalTokens(ours[oursSpan.Lo:oursSpan.Hi], theirs[theirsSpan.Lo:theirsSpan.Hi]):
			r.Kind = BothSame
		default:
			r.Kind = Conflict
		}
		regions = append(regions, r)
		oursShift, theirsShift = newOursShift, newTheirsShift
		basePos = hi
	}
	emitStable(basePos, len(base), basePos+oursShift, basePos+theirsShift)
	return regions
}

// before reports whether hunk a comes before hunk b in base order: it
// starts earlier, or at the same point as an insertion before a change.
func before(a, b Hunk) bool {
	return a.A0 < b.A0 || (a.A0 == b.A0 && a.A1 < b.A1)
}

// overlaps reports whether the base range [a0, a1) of a hunk overlaps a
// group's range [lo, hi) in the sense of Overlapping; an empty range is
// an insertion at its point.
func overlaps(lo, hi, a0, a1 int) bool {
	switch {
	case lo == hi && a0 == a1:
		return lo == a0
	case lo == hi:
		return a0 < lo && lo < a1
	case a0 == a1:
		return lo < a0 && a0 < hi
	}
	return a0 < hi && lo < a1
}

// sideSpan maps the base range [lo, hi) of a group to one side, given the
// side's hunks inside the group and its shift before the group. It returns
// the span and the shift after the group.
func sideSpan(hunks []Hunk, lo, hi, shift int) (Span, int) {
	if len(hunks) == 0 {
		return Span{lo + shift, hi + shift}, shift
	}
	first, last := hunks[0], hunks[len(hunks)-1]
	endShift := last.B1 - last.A1
	return Span{first.B0 - (first.A0 - lo), hi + endShift}, endShift
}

func equalTokens(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
