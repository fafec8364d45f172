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

// Merge three-way merges two sequences that both derive from base.
// Changes whose base ranges overlap or touch are grouped; a group changed
// on one side only takes that side, a group changed the same way on both
// sides is BothSame, any other group is a Conflict.
func Merge(base, ours, theirs []uint64) []Region {
	return mergeHunks(base, ours, theirs, Diff(base, ours), Diff(base, theirs))
}

func mergeHunks(base, ours, theirs []uint64, oursHunks, theirsHunks []Hunk) []Region {
	var regions []Region
	emitStable := func(baseLo, baseHi, oursLo, theirsLo int) {
		if baseHi > baseLo {
			n := baseHi - baseLo
			regions = append(regions, Region{Kind: Stable,
				Base: Span{baseLo, baseHi}, Ours: Span{oursLo, oursLo + n}, Theirs: Span{theirsLo, theirsLo + n}})
		}
	}
	// shift[side] is (position in side) - (position in base) after the
	// hunks consumed so far, valid in the stable stretch that follows.
	var oursShift, theirsShift int
	basePos := 0
	i, j := 0, 0
	for i < len(oursHunks) || j < len(theirsHunks) {
		// Start a group with whichever hunk comes first in base order.
		lo := groupStart(oursHunks, theirsHunks, i, j)
		hi := lo
		oursFrom, theirsFrom := i, j
		// Grow the group while a hunk of either side overlaps or touches it.
		for grew := true; grew; {
			grew = false
			if i < len(oursHunks) && oursHunks[i].A0 <= hi {
				hi = max(hi, oursHunks[i].A1)
				i++
				grew = true
			}
			if j < len(theirsHunks) && theirsHunks[j].A0 <= hi {
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

func groupStart(oursHunks, theirsHunks []Hunk, i, j int) int {
	switch {
	case i == len(oursHunks):
		return theirsHunks[j].A0
	case j == len(theirsHunks):
		return oursHunks[i].A0
	}
	return min(oursHunks[i].A0, theirsHunks[j].A0)
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
