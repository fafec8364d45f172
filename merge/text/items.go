package text

import "github.com/folio-db/folio/merge/sequence"

// This file builds the merge the way git merge-file's xdiff does (see
// xdiff/xmerge.c), as a list of items over the three inputs; result.go
// turns the list into Hunks.

// span is a half-open range of line indexes.
type span struct{ lo, hi int }

func (s span) len() int { return s.hi - s.lo }

type itemMode uint8

const (
	itemConflict itemMode = iota
	itemOurs              // clean: take ours
	itemTheirs            // clean: take theirs
	itemSame              // ours and theirs turned out equal (found by refining)
)

// item is one change of the merge. Lines outside every item are equal in
// ours and theirs, which is why rendering copies them from ours. For
// itemOurs the theirs span is the (unchanged) theirs text of the base
// span, and the other way round for itemTheirs.
type item struct {
	mode               itemMode
	base, ours, theirs span
}

// eagerItems pairs the hunks of base->ours with those of base->theirs in
// base order. A hunk that ends strictly before the other side's next hunk
// starts is clean; hunks that overlap or touch form a conflict, unless
// they are the very same change (same base range, same new lines), which
// leaves no item at all. A change that overlaps the previous item, in the
// coordinates of either side, joins it (as a conflict if the modes
// differ). This is xdiff's XDL_MERGE_EAGER level.
func eagerItems(base, ours, theirs *file, oursHunks, theirsHunks []sequence.Hunk) []item {
	var items []item
	add := func(it item) {
		if n := len(items); n > 0 {
			last := &items[n-1]
			if it.ours.lo <= last.ours.hi || it.theirs.lo <= last.theirs.hi {
				if it.mode != last.mode {
					last.mode = itemConflict
				}
				last.base.hi = it.base.hi
				last.ours.hi = it.ours.hi
				last.theirs.hi = it.theirs.hi
				return
			}
		}
		items = append(items, it)
	}
	oursOnly := func(o sequence.Hunk, theirsShift int) item {
		return item{mode: itemOurs, base: span{o.A0, o.A1}, ours: span{o.B0, o.B1},
			theirs: span{o.A0 + theirsShift, o.A1 + theirsShift}}
	}
	theirsOnly := func(t sequence.Hunk, oursShift int) item {
		return item{mode: itemTheirs, base: span{t.A0, t.A1}, ours: span{t.A0 + oursShift, t.A1 + oursShift},
			theirs: span{t.B0, t.B1}}
	}
	i, j := 0, 0
	for i < len(oursHunks) && j < len(theirsHunks) {
		o, t := oursHunks[i], theirsHunks[j]
		switch {
		case o.A1 < t.A0:
			add(oursOnly(o, t.B0-t.A0))
			i++
			continue
		case t.A1 < o.A0:
			add(theirsOnly(t, o.B0-o.A0))
			j++
			continue
		}
		if !sameChange(ours, theirs, o, t) {
			// Cover both hunks: start at the earlier base start, end at
			// the later base end, and stretch each side by the base
			// lines the other hunk adds at either end.
			startGap, endGap := o.A0-t.A0, o.A1-t.A1
			add(item{
				mode:   itemConflict,
				base:   span{min(o.A0, t.A0), max(o.A1, t.A1)},
				ours:   span{o.B0 - max(startGap, 0), o.B1 + max(-endGap, 0)},
				theirs: span{t.B0 + min(startGap, 0), t.B1 + max(endGap, 0)},
			})
		}
		if o.A1 >= t.A1 {
			j++
		}
		if t.A1 >= o.A1 {
			i++
		}
	}
	for ; i < len(oursHunks); i++ {
		add(oursOnly(oursHunks[i], len(theirs.lines)-len(base.lines)))
	}
	for ; j < len(theirsHunks); j++ {
		add(theirsOnly(theirsHunks[j], len(ours.lines)-len(base.lines)))
	}
	return items
}

func sameChange(ours, theirs *file, o, t sequence.Hunk) bool {
	if o.A0 != t.A0 || o.A1 != t.A1 || o.B1-o.B0 != t.B1-t.B0 {
		return false
	}
	for k := range o.B1 - o.B0 {
		if ours.tok[o.B0+k] != theirs.tok[t.B0+k] {
			return false
		}
	}
	return true
}

// refine shrinks each conflict whose sides are both non-empty to the
// parts where ours and theirs really differ: it diffs the two sides and
// makes one conflict per hunk of that diff, or none if they are equal
// (XDL_MERGE_ZEALOUS). The lines between the new conflicts are common to
// both sides. A refined conflict keeps the base span of the conflict it
// came from.
func refine(ours, theirs *file, items []item) []item {
	out := make([]item, 0, len(items))
	for _, it := range items {
		if it.mode != itemConflict || it.ours.len() == 0 || it.theirs.len() == 0 {
			out = append(out, it)
			continue
		}
		hs := sequence.Diff(ours.tok[it.ours.lo:it.ours.hi], theirs.tok[it.theirs.lo:it.theirs.hi])
		if len(hs) == 0 {
			it.mode = itemSame
			out = append(out, it)
			continue
		}
		for _, h := range hs {
			out = append(out, item{
				mode:   itemConflict,
				base:   it.base,
				ours:   span{it.ours.lo + h.A0, it.ours.lo + h.A1},
				theirs: span{it.theirs.lo + h.B0, it.theirs.lo + h.B1},
			})
		}
	}
	return out
}

// joinConflicts joins neighbouring conflicts that are separated by at
// most three lines, or by lines without a single ASCII letter or digit
// (a lone brace, a blank line): one larger conflict reads better than
// several split by noise (XDL_MERGE_ZEALOUS_ALNUM). The joined conflict
// keeps the first one's base span start and ends at the second's.
func joinConflicts(ours *file, items []item) []item {
	if len(items) == 0 {
		return items
	}
	out := []item{items[0]}
	for _, next := range items[1:] {
		last := &out[len(out)-1]
		if last.mode == itemConflict && next.mode == itemConflict {
			between := span{last.ours.hi, next.ours.lo}
			if between.len() <= 3 || !anyAlnum(ours.lines[between.lo:between.hi]) {
				last.ours.hi = next.ours.hi
				last.theirs.hi = next.theirs.hi
				last.base.hi = max(last.base.hi, next.base.hi)
				continue
			}
		}
		out = append(out, next)
	}
	return out
}

func anyAlnum(lines [][]byte) bool {
	for _, l := range lines {
		for _, c := range l {
			if '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
				return true
			}
		}
	}
	return false
}

// trimCommon removes the lines common to ours and theirs at the start and
// end of each conflict, keeping its base span (zdiff3 style).
func trimCommon(ours, theirs *file, items []item) []item {
	out := make([]item, len(items))
	for k, it := range items {
		if it.mode == itemConflict {
			for it.ours.len() > 0 && it.theirs.len() > 0 && ours.tok[it.ours.lo] == theirs.tok[it.theirs.lo] {
				it.ours.lo++
				it.theirs.lo++
			}
			for it.ours.len() > 0 && it.theirs.len() > 0 && ours.tok[it.ours.hi-1] == theirs.tok[it.theirs.hi-1] {
				it.ours.hi--
				it.theirs.hi--
			}
		}
		out[k] = it
	}
	return out
}
