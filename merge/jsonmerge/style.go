package jsonmerge

import "strings"

// style is how a document lays out its members, as far as a merge needs
// to know to write new members that look like the old ones.
type style struct {
	newline string // "\n" or "\r\n"; "" when members sit on one line
	indent  string // one level of indentation (with newline set)
	colon   string // between a key and its value, e.g. ": " or ":"
	comma   string // after a comma between members on one line
}

// sameLayout reports whether text written in style o reads as written in
// st. The comma matters only to documents on one line: in an indented
// document it shows only inside the odd composite kept on one line.
func (st style) sameLayout(o style) bool {
	return st.newline == o.newline && st.indent == o.indent && st.colon == o.colon &&
		(st.newline != "" || st.comma == o.comma)
}

// compact is the style of a document that shows none: no whitespace.
var compact = style{colon: ":"}

// seenStyle is what a document shows of its style: each part is known
// only if the document has a member that shows it.
type seenStyle struct {
	style
	layoutKnown bool // newline and indent: any composite with members
	colonKnown  bool // any object with members
	commaKnown  bool // any member after a comma on the same line
}

// detectStyle reads the style from the first members in document order:
// the first member whose whitespace holds a newline gives the newline and
// the indentation (its indentation divided by its depth, if it is made of
// one repeated character; no such member means one line); the first
// object member gives the colon; the first member after a comma on the
// same line gives the comma.
func detectStyle(d *document) seenStyle {
	var st seenStyle
	haveNewline := false
	for i := range d.nodes {
		nd := &d.nodes[i]
		if nd.count == 0 {
			continue
		}
		st.layoutKnown = true
		kids := d.kids(int32(i))
		if !st.colonKnown && nd.kind == kindObject {
			if c := d.src[kids[0].keyHi:d.nodes[kids[0].val].lo]; !strings.ContainsAny(c, "\r\n") {
				st.colon, st.colonKnown = c, true
			}
		}
		if !st.commaKnown && len(kids) >= 2 {
			if p := d.prefix(&kids[1]); !strings.ContainsAny(p, "\r\n") {
				st.comma, st.commaKnown = p, true
			}
		}
		for k := 0; !haveNewline && k < len(kids); k++ {
			p := d.prefix(&kids[k])
			nl := strings.LastIndexByte(p, '\n')
			if nl < 0 {
				continue
			}
			haveNewline = true
			st.newline = "\n"
			if nl > 0 && p[nl-1] == '\r' {
				st.newline = "\r\n"
			}
			st.indent = indentUnit(p[nl+1:], int(nd.depth)+1)
		}
		if haveNewline && st.colonKnown && st.commaKnown {
			break
		}
	}
	st.style = combineStyles(st, seenStyle{})
	return st
}

// combineStyles takes each part of the style from a if a shows it, else
// from b, else the compact default; an unknown comma is a space when the
// colon ends with one.
func combineStyles(a, b seenStyle) style {
	st := compact
	switch {
	case a.layoutKnown:
		st.newline, st.indent = a.newline, a.indent
	case b.layoutKnown:
		st.newline, st.indent = b.newline, b.indent
	}
	switch {
	case a.colonKnown:
		st.colon = a.colon
	case b.colonKnown:
		st.colon = b.colon
	}
	switch {
	case a.commaKnown:
		st.comma = a.comma
	case b.commaKnown:
		st.comma = b.comma
	case strings.HasSuffix(st.colon, " "):
		st.comma = " "
	}
	return st
}

// indentUnit is one level of indentation, given the indentation w of a
// member at the given depth.
func indentUnit(w string, depth int) string {
	if w == "" || strings.Trim(w, w[:1]) != "" {
		return w // empty, or mixed characters: use it as one level
	}
	if len(w)%depth == 0 {
		return w[:len(w)/depth]
	}
	return w
}

// appendPrefix appends the whitespace before the i-th member of a
// composite whose members are at the given depth; oneLine asks for the
// layout of a composite kept on one line.
func (st *style) appendPrefix(b []byte, i, depth int, oneLine bool) []byte {
	if st.newline == "" || oneLine {
		if i > 0 {
			b = append(b, st.comma...)
		}
		return b
	}
	b = append(b, st.newline...)
	for range depth {
		b = append(b, st.indent...)
	}
	return b
}

// appendTail appends the whitespace before the closing bracket of a
// non-empty composite at the given depth, laid out on several lines.
func (st *style) appendTail(b []byte, depth int) []byte {
	if st.newline == "" {
		return b
	}
	b = append(b, st.newline...)
	for range depth {
		b = append(b, st.indent...)
	}
	return b
}
