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
	if winner != objects.SideOurs && winner != objects.SideTheirs {
		return Result{}, fmt.Errorf("%w: %v", ErrInvalidWinner, winner)
	}
	var m merger
	var err error
	if len(base) > 0 {
		if m.base, err = parseSide("base", base); err != nil {
			return Result{}, err
		}
	}
	if m.ours, err = parseSide("ours", ours); err != nil {
		return Result{}, err
	}
	if m.theirs, err = parseSide("theirs", theirs); err != nil {
		return Result{}, err
	}
	switch {
	case bytes.Equal(ours, theirs), m.base != nil && bytes.Equal(theirs, base):
		return Result{Merged: bytes.Clone(ours)}, nil
	case m.base != nil && bytes.Equal(ours, base):
		return Result{Merged: bytes.Clone(theirs)}, nil
	}
	m.winner = winner
	m.style = combineStyles(m.ours.style, m.theirs.style)
	m.out = make([]byte, 0, len(ours)+len(ours)/8)
	root := m.ours.nodes[0]
	m.out = append(m.out, m.ours.src[:root.lo]...)
	b := int32(-1)
	if m.base != nil {
		b = 0
	}
	m.value(b, 0, 0, "")
	m.out = append(m.out, m.ours.src[root.hi:]...)
	return Result{Merged: m.out, Conflicts: m.conflicts}, nil
}

func parseSide(name string, data []byte) (*document, error) {
	d, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// merger writes the merged document as it walks the three trees. Node
// arguments are node indices in their document; -1 means absent, which
// only base can be at the top of a call.
type merger struct {
	base, ours, theirs *document
	winner             objects.Side
	style              style
	out                []byte
	conflicts          []Conflict
	tokens             map[digest]uint64
}

// keepsOurs reports whether the merged value is ours as it stands: both
// sides agree, or theirs did not change it.
func (m *merger) keepsOurs(b, o, t int32) bool {
	td := m.theirs.digests[t]
	return m.ours.digests[o] == td || (b >= 0 && m.base.digests[b] == td)
}

// value merges one value present on both sides and writes the result.
func (m *merger) value(b, o, t int32, path string) {
	if m.keepsOurs(b, o, t) {
		m.writeOurs(o)
		return
	}
	ko, kt := m.ours.nodes[o].kind, m.theirs.nodes[t].kind
	if ko == kt && ko.composite() && (b < 0 || m.base.nodes[b].kind == ko) {
		if ko == kindObject {
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
	if m.winner == objects.SideOurs {
		m.writeOurs(o)
	} else {
		m.writeTheirs(t)
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
func (m *merger) writeTheirs(t int32) {
	if m.theirs.style.sameLayout(m.style) {
		m.out = append(m.out, m.theirs.text(t)...)
		return
	}
	m.out = reformat(m.out, m.theirs, t, &m.style)
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
