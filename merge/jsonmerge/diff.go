package jsonmerge

import (
	"encoding/json"
	"fmt"

	"github.com/folio-db/folio/merge/sequence"
)

// Change operations, named as in JSON Patch (RFC 6902).
const (
	OpAdd     = "add"
	OpRemove  = "remove"
	OpReplace = "replace"
)

// Change is one difference between two documents: the value at Path was
// added (New), removed (Old) or replaced (Old by New). Old and New are
// the values as written in their document.
type Change struct {
	Path string          `json:"path"` // RFC 6901 JSON pointer
	Op   string          `json:"op"`   // OpAdd, OpRemove or OpReplace
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// Diff lists the changes that turn document a into document b, compared
// by value: formatting, key order and number spelling (1 vs 1.0) are not
// changes. Applied in order as a JSON Patch, the changes turn a into a
// document equal in value to b; array indices in paths count the elements
// as they are at that step. Order: for an object, a's keys in a's order
// (removed or changed), then b's new keys in b's order; for an array,
// element by element. An empty a or b means the document is absent: the
// diff is one add or remove at "".
func Diff(a, b []byte) ([]Change, error) {
	var d differ
	var err error
	if len(a) > 0 {
		if d.a, err = parseSide("a", a); err != nil {
			return nil, err
		}
	}
	if len(b) > 0 {
		if d.b, err = parseSide("b", b); err != nil {
			return nil, err
		}
	}
	switch {
	case d.a == nil && d.b == nil:
		return nil, nil
	case d.a == nil:
		return []Change{{Op: OpAdd, New: raw(d.b, 0)}}, nil
	case d.b == nil:
		return []Change{{Op: OpRemove, Old: raw(d.a, 0)}}, nil
	}
	d.value(0, 0, "")
	return d.changes, nil
}

type differ struct {
	a, b    *document
	changes []Change
	tokens  map[digest]uint64
}

func (d *differ) value(x, y int32, path string) {
	if d.a.digests[x] == d.b.digests[y] {
		return
	}
	kx, ky := d.a.nodes[x].kind, d.b.nodes[y].kind
	switch {
	case kx == kindObject && ky == kindObject:
		d.object(x, y, path)
	case kx == kindArray && ky == kindArray:
		d.array(x, y, path)
	default:
		d.changes = append(d.changes, Change{Path: path, Op: OpReplace, Old: raw(d.a, x), New: raw(d.b, y)})
	}
}

func (d *differ) object(x, y int32, path string) {
	xs, ys := d.a.kids(x), d.b.kids(y)
	xIdx, yIdx := newKeyIndex(xs), newKeyIndex(ys)
	for i := range xs {
		m := &xs[i]
		if j := yIdx.find(m.key); j >= 0 {
			if d.a.digests[m.val] != d.b.digests[ys[j].val] {
				d.value(m.val, ys[j].val, keyPath(path, m))
			}
			continue
		}
		d.changes = append(d.changes, Change{Path: keyPath(path, m), Op: OpRemove, Old: raw(d.a, m.val)})
	}
	for j := range ys {
		if m := &ys[j]; xIdx.find(m.key) < 0 {
			d.changes = append(d.changes, Change{Path: keyPath(path, m), Op: OpAdd, New: raw(d.b, m.val)})
		}
	}
}

// array walks the sequence diff's hunks. Before each hunk the array being
// patched matches b up to the hunk, so a's element A0 sits at index B0.
// Elements paired within a hunk are diffed in place; the rest of the hunk
// is removed or added.
func (d *differ) array(x, y int32, path string) {
	if d.tokens == nil {
		d.tokens = make(map[digest]uint64)
	}
	xs, ys := d.a.kids(x), d.b.kids(y)
	for _, h := range sequence.Diff(tokenize(d.tokens, d.a, xs), tokenize(d.tokens, d.b, ys)) {
		la, lb := h.A1-h.A0, h.B1-h.B0
		paired := min(la, lb)
		for k := range paired {
			d.value(xs[h.A0+k].val, ys[h.B0+k].val, indexPath(path, h.B0+k))
		}
		for k := paired; k < la; k++ {
			d.changes = append(d.changes, Change{Path: indexPath(path, h.B0+paired), Op: OpRemove, Old: raw(d.a, xs[h.A0+k].val)})
		}
		for k := paired; k < lb; k++ {
			d.changes = append(d.changes, Change{Path: indexPath(path, h.B0+k), Op: OpAdd, New: raw(d.b, ys[h.B0+k].val)})
		}
	}
}

// String shows a change on one line, for messages and tests.
func (c Change) String() string {
	switch c.Op {
	case OpAdd:
		return fmt.Sprintf("add %q %s", c.Path, c.New)
	case OpRemove:
		return fmt.Sprintf("remove %q %s", c.Path, c.Old)
	}
	return fmt.Sprintf("replace %q %s -> %s", c.Path, c.Old, c.New)
}
