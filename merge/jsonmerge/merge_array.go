package jsonmerge

import (
	"github.com/folio-db/folio/merge/sequence"
	"github.com/folio-db/folio/objects"
)

// array merges two arrays as sequences of values (diff3 over elements,
// comparing elements by value). A conflicting region whose base, ours and
// theirs spans hold the same number of elements is merged position by
// position, so edits to different elements (even adjacent ones) merge and
// edits to different fields of one element merge too. Any other
// conflicting region takes the winner's elements and records one conflict
// at the array's path, holding the three whole arrays.
func (m *merger) array(b, o, t int32, path string) {
	var baseKids []member
	if b >= 0 {
		baseKids = m.base.kids(b)
	}
	oursKids, theirsKids := m.ours.kids(o), m.theirs.kids(t)
	regions := sequence.Merge(m.tokenize(m.base, baseKids), m.tokenize(m.ours, oursKids), m.tokenize(m.theirs, theirsKids), sequence.Touching)

	f := m.openFrame(o)
	mark := len(m.conflicts)
	regionConflict := false
	for _, r := range regions {
		switch {
		case r.Kind == sequence.Conflict && r.Base.Len() == r.Ours.Len() && r.Ours.Len() == r.Theirs.Len():
			for k := range r.Ours.Len() {
				bv, ov, tv := baseKids[r.Base.Lo+k].val, oursKids[r.Ours.Lo+k].val, theirsKids[r.Theirs.Lo+k].val
				i := f.count
				f.member(r.Ours.Lo + k)
				if m.keepsOurs(bv, ov, tv) {
					m.writeOurs(ov)
				} else {
					m.value(bv, ov, tv, indexPath(path, i))
				}
			}
		case r.Kind == sequence.Conflict:
			regionConflict = true
			if m.winner == objects.SideOurs {
				m.oursElements(&f, oursKids, r.Ours)
			} else {
				m.theirsElements(&f, theirsKids, r.Theirs)
			}
		case r.Kind == sequence.TheirsOnly:
			m.theirsElements(&f, theirsKids, r.Theirs)
		default: // Stable, OursOnly, BothSame
			m.oursElements(&f, oursKids, r.Ours)
		}
	}
	f.close()
	if regionConflict {
		m.insertConflict(mark, m.makeConflict(path, b, o, t))
	}
}

func (m *merger) oursElements(f *frame, kids []member, s sequence.Span) {
	for j := s.Lo; j < s.Hi; j++ {
		f.member(j)
		m.writeOurs(kids[j].val)
	}
}

func (m *merger) theirsElements(f *frame, kids []member, s sequence.Span) {
	for j := s.Lo; j < s.Hi; j++ {
		f.member(-1)
		m.writeTheirs(kids[j].val)
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
