package jsonmerge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Test helpers: an ordered JSON tree built with encoding/json (so the
// checks do not rest on this package's parser), a printer with a choice
// of layouts, JSON Patch application, a value-equality oracle, and a
// generator of random trees and edits.

// tv is a JSON value. Scalars keep their literal text; object keys are
// kept decoded, in order.
type tv struct {
	kind kind
	lit  string
	keys []string
	kids []*tv
}

func (v *tv) clone() *tv {
	c := &tv{kind: v.kind, lit: v.lit, keys: append([]string(nil), v.keys...)}
	for _, k := range v.kids {
		c.kids = append(c.kids, k.clone())
	}
	return c
}

func (v *tv) keyIndex(key string) int {
	for i, k := range v.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// stripBOM drops a leading UTF-8 byte order mark, which the merge accepts
// and encoding/json does not.
func stripBOM(data []byte) []byte { return bytes.TrimPrefix(data, []byte(byteOrderMark)) }

// validJSON is json.Valid after an optional byte order mark.
func validJSON(data []byte) bool { return json.Valid(stripBOM(data)) }

// decodeTree decodes one JSON value with encoding/json's tokenizer.
func decodeTree(data []byte) (*tv, error) {
	dec := json.NewDecoder(bytes.NewReader(stripBOM(data)))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("data after the value: %v", err)
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (*tv, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := tok.(type) {
	case json.Delim:
		v := &tv{kind: kindArray}
		if x == '{' {
			v.kind = kindObject
		}
		for dec.More() {
			if v.kind == kindObject {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, kt.(string))
			}
			kid, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			v.kids = append(v.kids, kid)
		}
		_, err := dec.Token()
		return v, err
	case string:
		return &tv{kind: kindString, lit: quote(x)}, nil
	case json.Number:
		return &tv{kind: kindNumber, lit: string(x)}, nil
	case bool:
		if x {
			return &tv{kind: kindTrue, lit: "true"}, nil
		}
		return &tv{kind: kindFalse, lit: "false"}, nil
	}
	return &tv{kind: kindNull, lit: "null"}, nil
}

func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// layout is a way to print JSON, as the documents users write do.
type layout struct {
	name, newline, indent, colon, comma string
}

var layouts = []layout{
	{name: "compact", colon: ":"},
	{name: "one line", colon: ": ", comma: " "},
	{name: "2 spaces", newline: "\n", indent: "  ", colon: ": "},
	{name: "4 spaces", newline: "\n", indent: "    ", colon: ": "},
	{name: "tabs", newline: "\n", indent: "\t", colon: ": "},
	{name: "crlf", newline: "\r\n", indent: "  ", colon: ": "},
}

func (l layout) marshal(v *tv) []byte {
	var b bytes.Buffer
	l.write(&b, v, 0)
	if l.newline != "" {
		b.WriteString(l.newline)
	}
	return b.Bytes()
}

func (l layout) write(b *bytes.Buffer, v *tv, depth int) {
	if !v.kind.composite() {
		b.WriteString(v.lit)
		return
	}
	open, closing := "[", "]"
	if v.kind == kindObject {
		open, closing = "{", "}"
	}
	b.WriteString(open)
	for i, kid := range v.kids {
		if i > 0 {
			b.WriteByte(',')
		}
		if l.newline != "" {
			b.WriteString(l.newline + strings.Repeat(l.indent, depth+1))
		} else if i > 0 {
			b.WriteString(l.comma)
		}
		if v.kind == kindObject {
			b.WriteString(quote(v.keys[i]) + l.colon)
		}
		l.write(b, kid, depth+1)
	}
	if l.newline != "" && len(v.kids) > 0 {
		b.WriteString(l.newline + strings.Repeat(l.indent, depth))
	}
	b.WriteString(closing)
}

// sameValue reports whether two documents are equal as JSON values, by
// encoding/json: objects as maps, numbers as exact rationals.
func sameValue(a, b []byte) (bool, error) {
	var x, y any
	for _, p := range []struct {
		data []byte
		v    *any
	}{{a, &x}, {b, &y}} {
		dec := json.NewDecoder(bytes.NewReader(stripBOM(p.data)))
		dec.UseNumber()
		if err := dec.Decode(p.v); err != nil {
			return false, err
		}
	}
	return equalValues(x, y), nil
}

func equalValues(x, y any) bool {
	switch x := x.(type) {
	case map[string]any:
		y, ok := y.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equalValues(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := y.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValues(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := y.(json.Number)
		if !ok {
			return false
		}
		rx, okx := new(big.Rat).SetString(string(x))
		ry, oky := new(big.Rat).SetString(string(y))
		return okx && oky && rx.Cmp(ry) == 0
	}
	return x == y
}

// tameNumbers reports whether every number in data has a small enough
// exponent for big.Rat (the oracle) to handle quickly.
func tameNumbers(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i] != 'e' && data[i] != 'E' {
			continue
		}
		j := i + 1
		for j < len(data) && (data[j] == '+' || data[j] == '-' || data[j] == '0') {
			j++
		}
		k := j
		for k < len(data) && data[k] >= '0' && data[k] <= '9' {
			k++
		}
		if k-j > 4 {
			return false
		}
	}
	return true
}

// pointerTokens splits an RFC 6901 pointer.
func pointerTokens(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("pointer %q does not start with /", p)
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		toks[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(t)
	}
	return toks, nil
}

// lookup resolves a pointer; nil if nothing is there.
func lookup(v *tv, p string) (*tv, error) {
	toks, err := pointerTokens(p)
	if err != nil {
		return nil, err
	}
	for _, t := range toks {
		switch v.kind {
		case kindObject:
			i := v.keyIndex(t)
			if i < 0 {
				return nil, nil
			}
			v = v.kids[i]
		case kindArray:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(v.kids) {
				return nil, nil
			}
			v = v.kids[i]
		default:
			return nil, nil
		}
	}
	return v, nil
}

// applyPatch applies changes in order, as JSON Patch does, and returns
// the new root.
func applyPatch(root *tv, changes []Change) (*tv, error) {
	for _, c := range changes {
		var val *tv
		if c.Op != OpRemove {
			var err error
			if val, err = decodeTree(c.New); err != nil {
				return nil, fmt.Errorf("%s: %v", c, err)
			}
		}
		toks, err := pointerTokens(c.Path)
		if err != nil {
			return nil, err
		}
		if len(toks) == 0 {
			if c.Op == OpRemove {
				root = nil
			} else {
				root = val
			}
			continue
		}
		parent := root
		if len(toks) > 1 {
			parent, err = lookup(root, c.Path[:len(c.Path)-len(escapeToken(toks[len(toks)-1]))-1])
			if err != nil || parent == nil {
				return nil, fmt.Errorf("%s: no parent", c)
			}
		}
		if err := applyAt(parent, toks[len(toks)-1], c.Op, val); err != nil {
			return nil, fmt.Errorf("%s: %v", c, err)
		}
	}
	return root, nil
}

func escapeToken(t string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(t)
}

func applyAt(parent *tv, tok, op string, val *tv) error {
	switch parent.kind {
	case kindObject:
		i := parent.keyIndex(tok)
		switch {
		case op == OpAdd && i < 0:
			parent.keys = append(parent.keys, tok)
			parent.kids = append(parent.kids, val)
		case op == OpRemove && i >= 0:
			parent.keys = append(parent.keys[:i], parent.keys[i+1:]...)
			parent.kids = append(parent.kids[:i], parent.kids[i+1:]...)
		case op == OpReplace && i >= 0:
			parent.kids[i] = val
		default:
			return fmt.Errorf("%s of key %q (present: %v)", op, tok, i >= 0)
		}
	case kindArray:
		i, err := strconv.Atoi(tok)
		if err != nil || i < 0 || i > len(parent.kids) || (op != OpAdd && i == len(parent.kids)) {
			return fmt.Errorf("bad index %q of %d", tok, len(parent.kids))
		}
		switch op {
		case OpAdd:
			parent.kids = append(parent.kids[:i], append([]*tv{val}, parent.kids[i:]...)...)
		case OpRemove:
			parent.kids = append(parent.kids[:i], parent.kids[i+1:]...)
		default:
			parent.kids[i] = val
		}
	default:
		return fmt.Errorf("parent is a scalar")
	}
	return nil
}

// gen makes random trees. Small pools make equal values, equal keys and
// so conflicts likely. wide makes every value distinct (random scalars,
// no empty composites), so that diffs of arrays are never ambiguous.
type gen struct {
	r    *rand.Rand
	wide bool
}

var (
	scalarPool = []string{`0`, `1`, `1.0`, `-0`, `1e2`, `100`, `2.50`, `-3.25e-1`, `12345678901234567890`,
		`true`, `false`, `null`, `""`, `"a"`, `"b"`, `"caf\u00e9"`, `"café"`, `"x/y"`, `"~"`, `"\ud83d\ude00"`, `"line\nbreak"`}
	keyPool = []string{"a", "b", "c", "d", "e", "f", "g/h", "m~n", "café", "z"}
)

func (g *gen) scalar() *tv {
	if g.wide {
		return &tv{kind: kindNumber, lit: strconv.FormatUint(g.r.Uint64(), 10)}
	}
	lit := scalarPool[g.r.IntN(len(scalarPool))]
	v, err := decodeTree([]byte(lit))
	if err != nil {
		panic(err)
	}
	v.lit = lit
	return v
}

func (g *gen) key(taken []string) string {
	for {
		k := keyPool[g.r.IntN(len(keyPool))]
		if g.wide || g.r.IntN(4) == 0 {
			k += strconv.Itoa(g.r.IntN(1000))
		}
		if !contains(taken, k) {
			return k
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (g *gen) value(depth int) *tv {
	if depth >= 4 || g.r.IntN(3) == 0 {
		return g.scalar()
	}
	n := g.r.IntN(6)
	if g.wide {
		n++
	}
	if g.r.IntN(2) == 0 {
		v := &tv{kind: kindArray}
		for range n {
			v.kids = append(v.kids, g.value(depth+1))
		}
		return v
	}
	return g.object(depth, n)
}

func (g *gen) object(depth, n int) *tv {
	v := &tv{kind: kindObject}
	for range n {
		v.keys = append(v.keys, g.key(v.keys))
		v.kids = append(v.kids, g.value(depth+1))
	}
	return v
}

func (g *gen) minKids() int {
	if g.wide {
		return 1
	}
	return 0
}

// seg is one step of a path: a key in an object or an index in an array.
type seg struct {
	key   string
	index int
	array bool
}

// nodes lists every node under v with its path, in document order.
func nodes(v *tv, path []seg, visit func(*tv, []seg)) {
	visit(v, path)
	for i, kid := range v.kids {
		s := seg{index: i, array: true}
		if v.kind == kindObject {
			s = seg{key: v.keys[i]}
		}
		nodes(kid, append(append([]seg(nil), path...), s), visit)
	}
}

func at(v *tv, path []seg) *tv {
	for _, s := range path {
		if s.array {
			v = v.kids[s.index]
		} else {
			v = v.kids[v.keyIndex(s.key)]
		}
	}
	return v
}

// edit makes one random change to the node at path in v (v is changed).
func (g *gen) edit(v *tv, path []seg) {
	n := at(v, path)
	switch {
	case n.kind == kindObject && g.r.IntN(2) == 0:
		if len(n.kids) > g.minKids() && g.r.IntN(2) == 0 {
			i := g.r.IntN(len(n.kids))
			n.keys = append(n.keys[:i], n.keys[i+1:]...)
			n.kids = append(n.kids[:i], n.kids[i+1:]...)
			return
		}
		n.keys = append(n.keys, g.key(n.keys))
		n.kids = append(n.kids, g.value(len(path)+1))
	case n.kind == kindArray && g.r.IntN(2) == 0:
		if len(n.kids) > g.minKids() && g.r.IntN(2) == 0 {
			i := g.r.IntN(len(n.kids))
			n.kids = append(n.kids[:i], n.kids[i+1:]...)
			return
		}
		i := g.r.IntN(len(n.kids) + 1)
		n.kids = append(n.kids[:i], append([]*tv{g.value(len(path) + 1)}, n.kids[i:]...)...)
	case len(path) > 0:
		*n = *g.value(len(path))
	}
}

// randomEdits edits a copy of v at count random places.
func (g *gen) randomEdits(v *tv, count int) *tv {
	v = v.clone()
	for range count {
		var paths [][]seg
		nodes(v, nil, func(_ *tv, p []seg) { paths = append(paths, p) })
		g.edit(v, paths[g.r.IntN(len(paths))])
	}
	return v
}

// compatible reports whether edits at paths p and q must merge cleanly:
// neither is inside the other (an edit that adds or removes members
// targets the composite itself, so nothing else may go through it), and
// they part at different keys of an object or different elements of an
// array. Edits inside array elements never change the array's length,
// so diff3 sees replaced elements, which merge position by position.
func compatible(p, q []seg) bool {
	for i := 0; i < len(p) && i < len(q); i++ {
		if p[i] != q[i] {
			return true
		}
	}
	return false
}
