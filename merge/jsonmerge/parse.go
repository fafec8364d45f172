package jsonmerge

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// kind is the type of one JSON value.
type kind uint8

const (
	kindNull kind = iota + 1
	kindFalse
	kindTrue
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k kind) composite() bool { return k == kindArray || k == kindObject }

// node is one JSON value: its text is src[lo:hi]; a composite's members
// are members[first : first+count]. depth is 0 for the top-level value.
// Nodes are stored in document order (a parent before its children).
type node struct {
	lo, hi       int32
	first, count int32
	kind         kind
	depth        uint16
}

// member is one entry of an object or array. The whitespace before it
// (after '{', '[' or ',') is src[pre:keyLo]; for an object member the key
// literal is src[keyLo:keyHi] and the colon with its whitespace runs up
// to the value; for an array element keyLo == keyHi == the value's start.
type member struct {
	pre, keyLo, keyHi int32
	val               int32  // node index of the value
	key               string // canonical key (objects only), see canonicalString
}

// document is one parsed input. Its text is kept as written: merging and
// diffing copy slices of it, so scalars keep their exact spelling.
type document struct {
	src     string
	nodes   []node
	members []member
	digests []digest // per node: the BLAKE3 of its canonical form
	style   seenStyle
}

func (d *document) text(n int32) string {
	nd := &d.nodes[n]
	return d.src[nd.lo:nd.hi]
}

func (d *document) kids(n int32) []member {
	nd := &d.nodes[n]
	return d.members[nd.first : nd.first+nd.count]
}

// prefix is the whitespace before a member.
func (d *document) prefix(m *member) string { return d.src[m.pre:m.keyLo] }

// head is a member's key literal and colon up to its value (empty for an
// array element).
func (d *document) head(m *member) string { return d.src[m.keyLo:d.nodes[m.val].lo] }

// tail is the whitespace before a composite's closing bracket.
func (d *document) tail(n int32) string {
	nd := &d.nodes[n]
	if nd.count == 0 {
		return d.src[nd.lo+1 : nd.hi-1]
	}
	last := &d.members[nd.first+nd.count-1]
	return d.src[d.nodes[last.val].hi : nd.hi-1]
}

// oneLine reports whether a composite with members is laid out on one
// line: no newline before a member or the closing bracket (its members
// may still span lines inside).
func (d *document) oneLine(n int32) bool {
	kids := d.kids(n)
	if len(kids) == 0 || strings.ContainsRune(d.tail(n), '\n') {
		return false
	}
	for i := range kids {
		if strings.ContainsRune(d.prefix(&kids[i]), '\n') {
			return false
		}
	}
	return true
}

// parse reads one JSON value (RFC 8259, UTF-8 only) with optional
// whitespace around it, after an optional UTF-8 byte order mark (which
// RFC 8259 lets parsers ignore; it stays in the text before the value). It checks the limits, rejects duplicate keys,
// and computes every node's digest and the document's style.
func parse(data []byte) (*document, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), MaxSize)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrNotJSON)
	}
	p := &parser{doc: &document{src: string(data)}, src: string(data)}
	// Every member but the first of a composite follows a comma, so this
	// bounds the members (and, plus one, the nodes) from above, unless
	// strings hold many of these bytes; then append grows the slices.
	members := bytes.Count(data, []byte{','}) + bytes.Count(data, []byte{'['}) + bytes.Count(data, []byte{'{'})
	p.doc.nodes = make([]node, 0, members+1)
	p.doc.digests = make([]digest, 0, members+1)
	p.doc.members = make([]member, 0, members)
	if strings.HasPrefix(p.src, byteOrderMark) {
		p.pos = len(byteOrderMark)
	}
	p.skipSpace()
	if err := p.value(0); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, p.fail("data after the value")
	}
	p.doc.style = detectStyle(p.doc)
	return p.doc, nil
}

const byteOrderMark = "\uFEFF"

type parser struct {
	doc   *document
	src   string
	pos   int
	open  []member // members of the composites being parsed
	canon canonicalizer
}

func (p *parser) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrNotJSON, what, p.pos)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses the value at p.pos. Recursion is bounded by MaxDepth.
func (p *parser) value(depth int) error {
	if p.pos >= len(p.src) {
		return p.fail("unexpected end")
	}
	idx := int32(len(p.doc.nodes))
	p.doc.nodes = append(p.doc.nodes, node{lo: int32(p.pos), depth: uint16(depth)})
	p.doc.digests = append(p.doc.digests, digest{})
	var k kind
	var err error
	switch c := p.src[p.pos]; {
	case c == '{' || c == '[':
		if depth >= MaxDepth {
			return fmt.Errorf("%w: more than %d levels at offset %d", ErrTooDeep, MaxDepth, p.pos)
		}
		k = kindArray
		if c == '{' {
			k = kindObject
		}
		err = p.composite(idx, k, depth)
	case c == '"':
		k, err = kindString, p.string()
	case c == '-' || (c >= '0' && c <= '9'):
		k, err = kindNumber, p.number()
	case c == 't':
		k, err = kindTrue, p.literal("true")
	case c == 'f':
		k, err = kindFalse, p.literal("false")
	case c == 'n':
		k, err = kindNull, p.literal("null")
	default:
		return p.fail(fmt.Sprintf("unexpected %q", c))
	}
	if err != nil {
		return err
	}
	nd := &p.doc.nodes[idx]
	nd.kind, nd.hi = k, int32(p.pos)
	p.doc.digests[idx], err = p.canon.digest(p.doc, idx)
	if err != nil {
		return fmt.Errorf("%w at offset %d", err, nd.lo)
	}
	return nil
}

func (p *parser) composite(idx int32, k kind, depth int) error {
	closing := byte(']')
	if k == kindObject {
		closing = '}'
	}
	p.pos++
	from := len(p.open)
	for {
		m := member{pre: int32(p.pos)}
		p.skipSpace()
		if len(p.open) == from && p.pos < len(p.src) && p.src[p.pos] == closing {
			p.pos++
			break
		}
		m.keyLo = int32(p.pos)
		if k == kindObject {
			if p.pos >= len(p.src) || p.src[p.pos] != '"' {
				return p.fail("want a key")
			}
			if err := p.string(); err != nil {
				return err
			}
			m.keyHi = int32(p.pos)
			m.key = canonicalString(p.src[m.keyLo:m.keyHi])
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != ':' {
				return p.fail("want ':'")
			}
			p.pos++
			p.skipSpace()
		} else {
			m.keyHi = m.keyLo
		}
		m.val = int32(len(p.doc.nodes))
		if err := p.value(depth + 1); err != nil {
			return err
		}
		p.open = append(p.open, m)
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == closing {
			p.pos++
			break
		}
		return p.fail(fmt.Sprintf("want ',' or %q", closing))
	}
	nd := &p.doc.nodes[idx]
	nd.first = int32(len(p.doc.members))
	nd.count = int32(len(p.open) - from)
	p.doc.members = append(p.doc.members, p.open[from:]...)
	clear(p.open[from:]) // drop the key strings
	p.open = p.open[:from]
	return nil
}

// string scans a string literal, checking its escapes.
func (p *parser) string() error {
	p.pos++
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return nil
		case c == '\\':
			p.pos++
			if p.pos >= len(p.src) {
				return p.fail("unterminated string")
			}
			switch p.src[p.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos++
			case 'u':
				if p.pos+5 > len(p.src) || !isHex4(p.src[p.pos+1:p.pos+5]) {
					return p.fail(`bad \u escape`)
				}
				p.pos += 5
			default:
				return p.fail("bad escape")
			}
		case c < 0x20:
			return p.fail("control character in string")
		default:
			p.pos++
		}
	}
	return p.fail("unterminated string")
}

func isHex4(s string) bool {
	for i := range 4 {
		if hexVal(s[i]) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// number scans -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() error {
	if p.src[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.src) && p.src[p.pos] == '0':
		p.pos++
	case p.pos < len(p.src) && p.src[p.pos] >= '1' && p.src[p.pos] <= '9':
		p.digits()
	default:
		return p.fail("bad number")
	}
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return p.fail("bad number")
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return p.fail("bad number")
		}
	}
	return nil
}

func (p *parser) digits() int {
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
	}
	return p.pos - start
}

func (p *parser) literal(word string) error {
	if !strings.HasPrefix(p.src[p.pos:], word) {
		return p.fail("bad literal")
	}
	p.pos += len(word)
	return nil
}
