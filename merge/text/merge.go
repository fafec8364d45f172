package text

import (
	"sort"

	"github.com/folio-db/folio/merge/sequence"
)

// Kind says what a hunk of a merge is.
type Kind uint8

// Hunk kinds.
const (
	Unchanged  Kind = iota // neither side changed these base lines
	OursOnly               // only ours changed here: the merge takes ours
	TheirsOnly             // only theirs changed here: the merge takes theirs
	Same                   // both sides have the same lines here, different from the base
	Conflict               // the sides differ: the merge takes the winner's
)

func (k Kind) String() string {
	switch k {
	case Unchanged:
		return "unchanged"
	case OursOnly:
		return "ours"
	case TheirsOnly:
		return "theirs"
	case Same:
		return "same"
	case Conflict:
		return "conflict"
	}
	return "kind?"
}

// LineRange is a half-open range [Start, End) of 0-based line indexes.
type LineRange struct{ Start, End int }

// Len is the number of lines in the range.
func (r LineRange) Len() int { return r.End - r.Start }

// Hunk is one stretch of a merge, in order. The line ranges of all hunks
// partition each input (hunks may be empty on one or two sides), and the
// text fields are the matching bytes of the inputs (not copies).
//
// For Unchanged, OursOnly and TheirsOnly hunks the three ranges are exact.
// For Same and Conflict hunks the ours and theirs ranges are exact and the
// base range is the base stretch those lines replace, as far as the
// diffs from the base tell: refinement can split one region of changes
// into several conflicts with common lines in between, and those do not
// line up with base lines one to one.
type Hunk struct {
	Kind                              Kind
	Base, Ours, Theirs                []byte
	BaseLines, OursLines, TheirsLines LineRange
}

// Result is a three-way merge as data. Hunks is the merge as git
// merge-file shows it by default (conflicts refined and joined: see the
// package doc); Conflicts counts its Conflict hunks.
type Result struct {
	Hunks     []Hunk
	Conflicts int

	// diff3 is the merge before refinement, for the diff3 marker
	// styles, which show the base of each conflict and so must not
	// shrink it.
	diff3  []Hunk
	base   *file
	ours   *file
	theirs *file
}

// Merge three-way merges ours and theirs, both derived from base, line by
// line in the manner of git merge-file (see the package doc). It never
// fails: conflicts are part of the result.
func Merge(base, ours, theirs []byte) Result {
	in := newInterner(lineCount(base, ours, theirs))
	b, o, t := in.file(base), in.file(ours), in.file(theirs)
	oursHunks := sequence.Diff(b.tok, o.tok)
	theirsHunks := sequence.Diff(b.tok, t.tok)
	m := merger{base: b, ours: o, theirs: t,
		oursMap: newBaseMap(oursHunks, len(o.lines)), theirsMap: newBaseMap(theirsHunks, len(t.lines))}

	eager := eagerItems(b, o, t, oursHunks, theirsHunks)
	zealous := joinConflicts(o, refine(o, t, eager))
	r := Result{
		Hunks: m.hunks(zealous, false),
		diff3: m.hunks(eager, true),
		base:  b, ours: o, theirs: t,
	}
	r.Conflicts = countConflicts(r.Hunks)
	return r
}

func countConflicts(hunks []Hunk) int {
	n := 0
	for _, h := range hunks {
		if h.Kind == Conflict {
			n++
		}
	}
	return n
}

// merger turns item lists into hunks.
type merger struct {
	base, ours, theirs *file
	oursMap, theirsMap baseMap
}

// hunks converts items to hunks that partition the three inputs. The
// lines between items are equal in ours and theirs; they become
// Unchanged hunks where both sides keep the same base lines and Same
// hunks elsewhere. exactBase says the items' base spans are exact (true
// before refinement); otherwise the base ranges of conflicts are mapped
// from their ours and theirs lines.
func (m *merger) hunks(items []item, exactBase bool) []Hunk {
	var out []Hunk
	o, t, b := 0, 0, 0 // cursors in ours, theirs, base
	for _, it := range items {
		if it.mode == itemSame {
			continue // rendered like the equal lines around it
		}
		baseStart := it.base.lo
		if !exactBase {
			baseStart = min(m.oursMap.start(it.ours.lo), m.theirsMap.start(it.theirs.lo))
		}
		out = m.between(out, span{o, it.ours.lo}, span{t, it.theirs.lo}, span{b, max(b, baseStart)})
		b = max(b, baseStart)
		baseEnd := it.base.hi
		if !exactBase && it.mode == itemConflict {
			baseEnd = max(m.oursMap.end(it.ours.hi), m.theirsMap.end(it.theirs.hi))
		}
		baseEnd = max(b, baseEnd)
		kind := Conflict
		switch it.mode {
		case itemOurs:
			kind = OursOnly
		case itemTheirs:
			kind = TheirsOnly
		}
		out = append(out, m.hunk(kind, span{b, baseEnd}, it.ours, it.theirs))
		o, t, b = it.ours.hi, it.theirs.hi, baseEnd
	}
	out = m.between(out, span{o, len(m.ours.lines)}, span{t, len(m.theirs.lines)}, span{b, len(m.base.lines)})
	return out
}

// between appends the hunks for a stretch where ours and theirs have the
// same lines: runs of lines both sides keep from the base at the same
// place are Unchanged, the rest (lines both sides changed the same way,
// or common lines inside refined conflicts) are Same.
func (m *merger) between(out []Hunk, ours, theirs, base span) []Hunk {
	if ours.len() != theirs.len() {
		panic("text: ours and theirs differ between merge items")
	}
	b := base.lo
	pendingFrom := 0 // offset in ours/theirs where lines not yet in a hunk start
	stableFrom := -1 // offset where the current Unchanged run starts, if any
	flushSame := func(upto, baseTo int) {
		if upto > pendingFrom || baseTo > b {
			out = append(out, m.hunk(Same, span{b, baseTo},
				span{ours.lo + pendingFrom, ours.lo + upto}, span{theirs.lo + pendingFrom, theirs.lo + upto}))
		}
		b, pendingFrom = baseTo, upto
	}
	flushStable := func(upto int) {
		if stableFrom < 0 {
			return
		}
		n := upto - stableFrom
		out = append(out, m.hunk(Unchanged, span{b, b + n},
			span{ours.lo + stableFrom, ours.lo + upto}, span{theirs.lo + stableFrom, theirs.lo + upto}))
		b, pendingFrom, stableFrom = b+n, upto, -1
	}
	for k := range ours.len() {
		bo := m.oursMap.aligned[ours.lo+k]
		kept := bo >= 0 && bo == m.theirsMap.aligned[theirs.lo+k] && bo < base.hi
		if kept && stableFrom >= 0 && bo == b+(k-stableFrom) {
			continue
		}
		flushStable(k)
		if kept && bo >= b {
			flushSame(k, bo)
			stableFrom = k
		}
	}
	flushStable(ours.len())
	flushSame(ours.len(), max(b, base.hi))
	return out
}

func (m *merger) hunk(kind Kind, base, ours, theirs span) Hunk {
	return Hunk{
		Kind:        kind,
		Base:        m.base.span(base.lo, base.hi),
		Ours:        m.ours.span(ours.lo, ours.hi),
		Theirs:      m.theirs.span(theirs.lo, theirs.hi),
		BaseLines:   LineRange{base.lo, base.hi},
		OursLines:   LineRange{ours.lo, ours.hi},
		TheirsLines: LineRange{theirs.lo, theirs.hi},
	}
}

// baseMap maps the lines of one side to base lines through the side's
// diff from the base (A is the base, B the side).
type baseMap struct {
	hunks []sequence.Hunk
	// aligned[i] is the base line that side line i is kept from, or -1
	// if the side changed it.
	aligned []int
}

func newBaseMap(hunks []sequence.Hunk, n int) baseMap {
	aligned := make([]int, n)
	side, base := 0, 0 // positions just after the previous hunk
	for _, h := range hunks {
		for i := side; i < h.B0; i++ {
			aligned[i] = base + (i - side)
		}
		for i := h.B0; i < h.B1; i++ {
			aligned[i] = -1
		}
		side, base = h.B1, h.A1
	}
	for i := side; i < n; i++ {
		aligned[i] = base + (i - side)
	}
	return baseMap{hunks: hunks, aligned: aligned}
}

// start maps the start of side line i (or the end of the side, for i = n)
// to a base position, taking in base lines the side deleted just there.
func (m baseMap) start(i int) int {
	h := m.hunks
	k := sort.Search(len(h), func(k int) bool { return h[k].B1 > i || (h[k].B0 == i && h[k].B1 == i) })
	if k < len(h) && h[k].B0 <= i {
		return h[k].A0
	}
	if k == 0 {
		return i
	}
	return h[k-1].A1 + (i - h[k-1].B1)
}

// end maps the end of side line i-1 (a range end i) to a base position,
// taking in base lines the side deleted just there.
func (m baseMap) end(i int) int {
	h := m.hunks
	k := sort.Search(len(h), func(k int) bool { return h[k].B0 > i || (h[k].B0 == i && h[k].B1 > i) }) - 1
	if k < 0 {
		return i
	}
	if h[k].B1 >= i {
		return h[k].A1
	}
	return h[k].A1 + (i - h[k].B1)
}
