package jsonmerge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/folio-db/folio/objects"
)

// Conflict is one place where the two sides changed a document
// differently. Base, Ours and Theirs are the values at Path on each side,
// as written there, or nil where that side has no value at Path (not yet
// added, or deleted).
type Conflict struct {
	Path   string          `json:"path"` // RFC 6901 JSON pointer; "" is the whole document
	Base   json.RawMessage `json:"base,omitempty"`
	Ours   json.RawMessage `json:"ours,omitempty"`
	Theirs json.RawMessage `json:"theirs,omitempty"`
}

// Result is the outcome of a merge. Merged is always valid JSON: at each
// conflict the winner's version stands. Conflicts are in document order.
type Result struct {
	Merged    []byte
	Conflicts []Conflict
	// Unions lists, as JSON pointers in document order, the arrays where
	// both sides inserted different elements at one place and both were
	// kept, ours first: the only places where swapping the sides changes
	// the merged value.
	Unions []string
}

// Merge three-way merges two JSON documents that both derive from base.
// An empty base means the document did not exist before (add/add): the
// two sides are merged against nothing. winner is the side whose version
// stands at each conflict.
//
// The result is a pure function of the inputs. When ours equals theirs or
// theirs equals base (byte for byte) it is ours, and when ours equals base
// it is theirs, exactly. Errors are ErrNotJSON, ErrTooDeep, ErrTooLarge
// (the caller merges such documents another way) and ErrInvalidWinner.
func Merge(base, ours, theirs []byte, winner objects.Side) (Result, error) {
	m, err := run(base, ours, theirs, winner)
	if err != nil {
		return Result{}, err
	}
	return m.result(), nil
}

// Versions is one merge written three times: at every conflict Base holds
// base's value (nothing where base has none), Ours ours' and Theirs
// theirs'. Everywhere else the three are the same bytes, so a line merge
// of them conflicts exactly around the conflicting values: that is how
// conflict markers are drawn on a JSON merge.
type Versions struct {
	Base, Ours, Theirs []byte
}

// MergeVersions merges like Merge and also writes the merged document
// with each side's values at the conflicts. Without conflicts all three
// versions are Result.Merged.
func MergeVersions(base, ours, theirs []byte) (Result, Versions, error) {
	m, err := run(base, ours, theirs, objects.SideOurs)
	if err != nil {
		return Result{}, Versions{}, err
	}
	res := m.result()
	v := Versions{Base: res.Merged, Ours: res.Merged, Theirs: res.Merged}
	if len(res.Conflicts) > 0 {
		v.Base = m.docs.merge(pickBase).out
		v.Theirs = m.docs.merge(pickTheirs).out
	}
	return res, v, nil
}

// pick is what a merge writes at a conflict: the winner's value, or, for
// MergeVersions, base's.
type pick uint8

const (
	pickOurs pick = iota
	pickTheirs
	pickBase
)

// docs are the parsed inputs of a merge; base is nil for an empty base.
type docs struct {
	base, ours, theirs *document
	// same is set when the result is one input as it is: ours equals
	// theirs or base equals one side, byte for byte.
	same []byte
}

func run(base, ours, theirs []byte, winner objects.Side) (*merger, error) {
	if winner != objects.SideOurs && winner != objects.SideTheirs {
		return nil, fmt.Errorf("%w: %v", ErrInvalidWinner, winner)
	}
	var d docs
	var err error
	if len(base) > 0 {
		if d.base, err = parseSide("base", base); err != nil {
			return nil, err
		}
	}
	if d.ours, err = parseSide("ours", ours); err != nil {
		return nil, err
	}
	if d.theirs, err = parseSide("theirs", theirs); err != nil {
		return nil, err
	}
	switch {
	case bytes.Equal(ours, theirs), d.base != nil && bytes.Equal(theirs, base):
		d.same = ours
	case d.base != nil && bytes.Equal(ours, base):
		d.same = theirs
	}
	p := pickOurs
	if winner == objects.SideTheirs {
		p = pickTheirs
	}
	return d.merge(p), nil
}

func parseSide(name string, data []byte) (*document, error) {
	d, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// merge writes the merged document, around ours' layout; or around
// theirs' when theirs left the document's value as base's and ours did
// not (theirs only reformatted or reordered it: see keep).
func (d *docs) merge(p pick) *merger {
	m := &merger{docs: d, pick: p}
	if d.same != nil {
		m.out = bytes.Clone(d.same)
		return m
	}
	m.base, m.ours, m.theirs = d.base, d.ours, d.theirs
	m.style = combineStyles(m.ours.style, m.theirs.style)
	m.out = make([]byte, 0, len(m.ours.src)+len(m.ours.src)/8)
	b := int32(-1)
	if m.base != nil {
		b = 0
	}
	if m.reformatsOnly(b, 0, 0) && m.ours.digests[0] != m.base.digests[0] {
		m = m.swapped()
	}
	root := m.ours.nodes[0]
	m.out = append(m.out, m.ours.src[:root.lo]...)
	m.value(b, 0, 0, "")
	m.out = append(m.out, m.ours.src[root.hi:]...)
	return m
}

func (m *merger) result() Result {
	return Result{Merged: m.out, Conflicts: m.conflicts, Unions: m.unions}
}

// merger writes the merged document as it walks the three trees. Node
// arguments are node indices in their document; -1 means absent, which
// only base can be at the top of a call.
type merger struct {
	docs               *docs
	base, ours, theirs *document
	pick               pick
	style              style
	out                []byte
	conflicts          []Conflict
	tokens             map[digest]uint64
	unions             []string // see Result.Unions
}

// swapped returns a merger that writes on around theirs' layout, with
// the sides exchanged. It is used only where theirs equals base in value,
// so it meets no conflict and no two insertions at one place.
func (m *merger) swapped() *merger {
	s := *m
	s.ours, s.theirs = m.theirs, m.ours
	s.style = combineStyles(s.ours.style, s.theirs.style)
	return &s
}

// keepsOurs reports whether the merged value is ours as it stands: both
// sides agree, or theirs did not change it.
func (m *merger) keepsOurs(b, o, t int32) bool {
	td := m.theirs.digests[t]
	return m.ours.digests[o] == td || (b >= 0 && m.base.digests[b] == td)
}

// reformatsOnly reports whether theirs changed a value's text but not
// its value (new layout or key order).
func (m *merger) reformatsOnly(b, o, t int32) bool {
	return b >= 0 && m.theirs.digests[t] == m.base.digests[b] && m.theirs.text(t) != m.base.text(b)
}

// keep writes a value that keepsOurs: ours' text, unless theirs only
// reformatted it. Then theirs' text is taken where ours left base's text,
// and where ours changed values inside, they are merged around theirs'
// layout (theirs' key order and whitespace, ours' values).
func (m *merger) keep(b, o, t int32) {
	if !m.reformatsOnly(b, o, t) {
		m.writeOurs(o)
		return
	}
	ko := m.ours.nodes[o].kind
	switch {
	case m.ours.text(o) == m.base.text(b):
		m.writeTheirs(t)
	case ko.composite() && ko == m.theirs.nodes[t].kind && ko == m.base.nodes[b].kind && m.ours.digests[o] != m.base.digests[b]:
		s := m.swapped()
		s.value(b, t, o, "") // theirs is base's value here: no conflict needs a path
		m.out = s.out
	default:
		m.writeOurs(o)
	}
}

// mergesInside reports whether a value both sides changed is merged
// member by member: all three are objects, or all arrays (or base is
// absent).
func (m *merger) mergesInside(b, o, t int32) bool {
	ko := m.ours.nodes[o].kind
	return ko.composite() && ko == m.theirs.nodes[t].kind && (b < 0 || m.base.nodes[b].kind == ko)
}

// conflictsHere reports whether value conflicts at this very value
// (rather than inside it, or not at all).
func (m *merger) conflictsHere(b, o, t int32) bool {
	return !m.keepsOurs(b, o, t) && !m.mergesInside(b, o, t) && (b < 0 || m.base.digests[b] != m.ours.digests[o])
}

// value merges one value present on both sides and writes the result.
func (m *merger) value(b, o, t int32, path string) {
	if m.keepsOurs(b, o, t) {
		m.keep(b, o, t)
		return
	}
	if m.mergesInside(b, o, t) {
		if m.ours.nodes[o].kind == kindObject {
			m.object(b, o, t, path)
		} else {
			m.array(b, o, t, path)
		}
		return
	}
	if b >= 0 && m.base.digests[b] == m.ours.digests[o] {
		m.writeTheirs(t)
		return
	}
	m.conflict(path, b, o, t)
	switch m.pick {
	case pickOurs:
		m.writeOurs(o)
	case pickTheirs:
		m.writeTheirs(t)
	default:
		m.writeBase(b)
	}
}

func (m *merger) conflict(path string, b, o, t int32) {
	m.conflicts = append(m.conflicts, m.makeConflict(path, b, o, t))
}

func (m *merger) makeConflict(path string, b, o, t int32) Conflict {
	return Conflict{Path: path, Base: raw(m.base, b), Ours: raw(m.ours, o), Theirs: raw(m.theirs, t)}
}

func raw(d *document, n int32) json.RawMessage {
	if n < 0 {
		return nil
	}
	return json.RawMessage(d.text(n))
}

func (m *merger) writeOurs(o int32) { m.out = append(m.out, m.ours.text(o)...) }

// writeTheirs copies a value of theirs as written when theirs has the
// output's style; otherwise it lays the value out again in that style.
// Either way it lands at the depth it had in theirs, since both sit at
// the same path.
func (m *merger) writeTheirs(t int32) { m.writeOther(m.theirs, t) }

// writeBase is writeTheirs for base's value; absent (-1), it writes
// nothing.
func (m *merger) writeBase(b int32) {
	if b >= 0 {
		m.writeOther(m.base, b)
	}
}

func (m *merger) writeOther(d *document, n int32) {
	if d.style.sameLayout(m.style) {
		m.out = append(m.out, d.text(n)...)
		return
	}
	m.out = reformat(m.out, d, n, &m.style)
}

// reformat appends node n of d laid out in style st. Scalars keep their
// text; a composite d keeps on one line stays on one line.
func reformat(b []byte, d *document, n int32, st *style) []byte {
	nd := &d.nodes[n]
	if !nd.kind.composite() {
		return append(b, d.text(n)...)
	}
	open, closing := byte('['), byte(']')
	if nd.kind == kindObject {
		open, closing = '{', '}'
	}
	b = append(b, open)
	oneLine := st.newline == "" || d.oneLine(n)
	for i, k := range d.kids(n) {
		if i > 0 {
			b = append(b, ',')
		}
		b = st.appendPrefix(b, i, int(nd.depth)+1, oneLine)
		if nd.kind == kindObject {
			b = append(b, d.src[k.keyLo:k.keyHi]...)
			b = append(b, st.colon...)
		}
		b = reformat(b, d, k.val, st)
	}
	if nd.count > 0 && !oneLine {
		b = st.appendTail(b, int(nd.depth))
	}
	return append(b, closing)
}

// frame writes a merged composite around ours' layout: ours' members keep
// the whitespace before them; a new member takes the shortest whitespace
// that follows a comma in ours' composite (the plain spacing, not a blank
// line that separates groups) or, if there is none, the style's, on one
// line if ours keeps the composite on one line.
type frame struct {
	m       *merger
	node    int32 // ours' composite
	count   int   // members written so far
	sep     string
	sepDone bool
}

// newSeparator is the whitespace before a new member after a comma.
func (f *frame) newSeparator() (string, bool) {
	if !f.sepDone {
		f.sepDone = true
		d := f.m.ours
		kids := d.kids(f.node)
		for i := 1; i < len(kids); i++ {
			if p := d.prefix(&kids[i]); i == 1 || len(p) < len(f.sep) {
				f.sep = p
			}
		}
	}
	return f.sep, len(f.m.ours.kids(f.node)) >= 2
}

func (m *merger) openFrame(o int32) frame {
	if m.ours.nodes[o].kind == kindObject {
		m.out = append(m.out, '{')
	} else {
		m.out = append(m.out, '[')
	}
	return frame{m: m, node: o}
}

// member writes the separator and whitespace before a member; the caller
// writes the member next. j is the member's index among ours' members, or
// -1 for a member ours does not have.
func (f *frame) member(j int) {
	m, d := f.m, f.m.ours
	kids := d.kids(f.node)
	if f.count > 0 {
		m.out = append(m.out, ',')
	}
	switch {
	case f.count == 0 && len(kids) > 0:
		m.out = append(m.out, d.prefix(&kids[0])...)
	case f.count > 0 && j > 0:
		m.out = append(m.out, d.prefix(&kids[j])...)
	default:
		if sep, ok := f.newSeparator(); ok && f.count > 0 {
			m.out = append(m.out, sep...)
		} else {
			m.out = m.style.appendPrefix(m.out, f.count, int(d.nodes[f.node].depth)+1, d.oneLine(f.node))
		}
	}
	f.count++
}

// close writes ours' closing whitespace and bracket.
func (f *frame) close() {
	m, d := f.m, f.m.ours
	nd := &d.nodes[f.node]
	closing := byte(']')
	if nd.kind == kindObject {
		closing = '}'
	}
	switch {
	case f.count == 0 && nd.count > 0:
	case f.count > 0 && nd.count == 0:
		m.out = m.style.appendTail(m.out, int(nd.depth))
	default:
		m.out = append(m.out, d.tail(f.node)...)
	}
	m.out = append(m.out, closing)
}

// childPath extends a JSON pointer by one reference token.
func childPath(path, token string) string {
	if strings.ContainsAny(token, "~/") {
		token = strings.NewReplacer("~", "~0", "/", "~1").Replace(token)
	}
	return path + "/" + token
}

func keyPath(path string, m *member) string { return childPath(path, displayString(m.key)) }

func indexPath(path string, i int) string { return path + "/" + strconv.Itoa(i) }

// insertConflict puts an array's conflict before the conflicts found
// inside it, so that conflicts stay in document order (a parent first).
func (m *merger) insertConflict(at int, c Conflict) {
	m.conflicts = slices.Insert(m.conflicts, at, c)
}
