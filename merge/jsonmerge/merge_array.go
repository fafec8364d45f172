package jsonmerge

import (
	"github.com/folio-db/folio/merge/sequence"
)

// array merges two arrays as sequences of values (diff3 over elements,
// comparing elements by value), where only changes to the same elements
// meet: edits to different elements merge, even adjacent ones. Both sides
// inserting at the same place keep both insertions, ours first (elements
// both inserted, once). A conflicting region whose base, ours and theirs
// spans hold the same number of elements is merged position by position,
// so edits to different fields of one element merge. Any other
// conflicting region takes the winner's elements and records one conflict
// at the array's path, holding the three whole arrays.
func (m *merger) array(b, o, t int32, path string) {
	var baseKids []member
	if b >= 0 {
		baseKids = m.base.kids(b)
	}
	oursKids, theirsKids := m.ours.kids(o), m.theirs.kids(t)
	oursTok, theirsTok := m.tokenize(m.ours, oursKids), m.tokenize(m.theirs, theirsKids)
	regions := sequence.Merge(m.tokenize(m.base, baseKids), oursTok, theirsTok, sequence.Overlapping)

	f := m.openFrame(o)
	mark := len(m.conflicts)
	regionConflict := false
	for _, r := range regions {
		switch {
		case r.Kind == sequence.Conflict && r.Base.Len() == 0:
			m.union(&f, oursKids, theirsKids, r.Ours, r.Theirs, oursTok, theirsTok)
			if len(m.unions) == 0 || m.unions[len(m.unions)-1] != path {
				m.unions = append(m.unions, path)
			}
		case r.Kind == sequence.Conflict && r.Base.Len() == r.Ours.Len() && r.Ours.Len() == r.Theirs.Len():
			for k := range r.Ours.Len() {
				bv, ov, tv := baseKids[r.Base.Lo+k].val, oursKids[r.Ours.Lo+k].val, theirsKids[r.Theirs.Lo+k].val
				i := f.count
				f.member(r.Ours.Lo + k)
				if m.keepsOurs(bv, ov, tv) {
					m.keep(bv, ov, tv)
				} else {
					m.value(bv, ov, tv, indexPath(path, i))
				}
			}
		case r.Kind == sequence.Conflict:
			regionConflict = true
			switch m.pick {
			case pickOurs:
				m.oursElements(&f, oursKids, r.Ours)
			case pickTheirs:
				m.otherElements(&f, m.theirs, theirsKids, r.Theirs)
			default:
				m.otherElements(&f, m.base, baseKids, r.Base)
			}
		case r.Kind == sequence.TheirsOnly:
			m.otherElements(&f, m.theirs, theirsKids, r.Theirs)
		case r.Kind == sequence.Stable:
			for k := range r.Ours.Len() {
				f.member(r.Ours.Lo + k)
				m.keep(baseKids[r.Base.Lo+k].val, oursKids[r.Ours.Lo+k].val, theirsKids[r.Theirs.Lo+k].val)
			}
		default: // OursOnly, BothSame
			m.oursElements(&f, oursKids, r.Ours)
		}
	}
	f.close()
	if regionConflict {
		m.insertConflict(mark, m.makeConflict(path, b, o, t))
	}
}

// union writes two insertions at the same place: the elements both
// inserted once, and where they differ ours' elements, then theirs'.
func (m *merger) union(f *frame, oursKids, theirsKids []member, o, t sequence.Span, oursTok, theirsTok []uint64) {
	oi := o.Lo
	for _, h := range sequence.Diff(oursTok[o.Lo:o.Hi], theirsTok[t.Lo:t.Hi]) {
		m.oursElements(f, oursKids, sequence.Span{Lo: oi, Hi: o.Lo + h.A1})
		m.otherElements(f, m.theirs, theirsKids, sequence.Span{Lo: t.Lo + h.B0, Hi: t.Lo + h.B1})
		oi = o.Lo + h.A1
	}
	m.oursElements(f, oursKids, sequence.Span{Lo: oi, Hi: o.Hi})
}

func (m *merger) oursElements(f *frame, kids []member, s sequence.Span) {
	for j := s.Lo; j < s.Hi; j++ {
		f.member(j)
		m.writeOurs(kids[j].val)
	}
}

// otherElements writes elements of theirs or base.
func (m *merger) otherElements(f *frame, d *document, kids []member, s sequence.Span) {
	for j := s.Lo; j < s.Hi; j++ {
		f.member(-1)
		m.writeOther(d, kids[j].val)
	}
}

// tokenize turns elements into tokens for the sequence merge: equal
// values (by digest) get equal tokens. Tokens are numbered in the order
// values are first met, so they are exact, not truncated hashes.
func (m *merger) tokenize(d *document, kids []member) []uint64 {
	if m.tokens == nil {
		m.tokens = make(map[digest]uint64)
	}
	return tokenize(m.tokens, d, kids)
}

func tokenize(tokens map[digest]uint64, d *document, kids []member) []uint64 {
	out := make([]uint64, len(kids))
	for i := range kids {
		dg := d.digests[kids[i].val]
		tok, ok := tokens[dg]
		if !ok {
			tok = uint64(len(tokens))
			tokens[dg] = tok
		}
		out[i] = tok
	}
	return out
}
