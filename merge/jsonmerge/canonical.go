package jsonmerge

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/zeebo/blake3"
)

// digest identifies a JSON value up to formatting: two values have the
// same digest exactly when they are equal as JSON values (up to BLAKE3
// collisions). It is the value's canonical form itself when that is
// shorter than a digest, and otherwise the form's BLAKE3-256 with the top
// bit set, so the two kinds never meet. Numbers compare as exact decimals (1, 1.0 and 10e-1 are
// equal; so are 0 and -0), strings by the characters they decode to,
// objects by their set of members whatever the key order.
type digest [32]byte

// canonicalizer computes digests bottom-up, reusing its buffers.
type canonicalizer struct {
	buf   []byte
	order []int32
}

// digest returns the digest of node n, whose children are already done.
// The canonical form is a tag byte and then:
//
//	null, false, true   nothing
//	number              sign, digits without leading or trailing zeros, 'e', exponent
//	string              uvarint length, canonical string (see canonicalString)
//	array               uvarint count, child digests
//	object              uvarint count, (uvarint key length, key, value digest) sorted by key
func (c *canonicalizer) digest(d *document, n int32) (digest, error) {
	nd := &d.nodes[n]
	b := append(c.buf[:0], byte(nd.kind))
	switch nd.kind {
	case kindNumber:
		b = appendCanonicalNumber(b, d.text(n))
	case kindString:
		s := canonicalString(d.text(n))
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	case kindArray:
		b = binary.AppendUvarint(b, uint64(nd.count))
		for _, m := range d.kids(n) {
			b = append(b, d.digests[m.val][:]...)
		}
	case kindObject:
		kids := d.kids(n)
		c.order = c.order[:0]
		for i := range kids {
			c.order = append(c.order, int32(i))
		}
		slices.SortFunc(c.order, func(x, y int32) int { return strings.Compare(kids[x].key, kids[y].key) })
		b = binary.AppendUvarint(b, uint64(nd.count))
		for i, k := range c.order {
			m := &kids[k]
			if i > 0 && kids[c.order[i-1]].key == m.key {
				c.buf = b
				return digest{}, fmt.Errorf("%w: duplicate key %s", ErrNotJSON, d.src[m.keyLo:m.keyHi])
			}
			b = binary.AppendUvarint(b, uint64(len(m.key)))
			b = append(b, m.key...)
			b = append(b, d.digests[m.val][:]...)
		}
	}
	c.buf = b
	var dg digest
	if len(b) < len(dg) {
		// Short forms (most scalars) are their own digest: a length
		// byte under 0x80, then the form. Hashing them would be most of
		// the cost of parsing.
		dg[0] = byte(len(b))
		copy(dg[1:], b)
		return dg, nil
	}
	dg = blake3.Sum256(b)
	dg[0] |= 0x80 // never a short form
	return dg, nil
}

// appendCanonicalNumber appends a number literal's exact decimal value as
// [-]digits'e'exponent, with no leading or trailing zeros in digits; zero
// is "0". No floating point: the value is never rounded.
func appendCanonicalNumber(b []byte, lit string) []byte {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	mant, exp := lit, ""
	if i := strings.IndexAny(lit, "eE"); i >= 0 {
		mant, exp = lit[:i], lit[i+1:]
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	intDigits, fracDigits := strings.TrimLeft(intPart, "0"), frac
	if intDigits == "" {
		fracDigits = strings.TrimLeft(frac, "0")
	}
	if intDigits == "" && fracDigits == "" {
		return append(b, '0')
	}
	if neg {
		b = append(b, '-')
	}
	b = append(b, intDigits...)
	b = append(b, fracDigits...)
	end := len(b)
	for b[end-1] == '0' {
		end--
	}
	shift := int64(len(b)-end) - int64(len(frac))
	b = b[:end]
	b = append(b, 'e')
	return appendExponent(b, exp, shift)
}

// appendExponent appends exp (a literal exponent, maybe signed, maybe
// empty) plus shift, in decimal. Exponents too long for int64 use big.Int.
func appendExponent(b []byte, exp string, shift int64) []byte {
	sign := int64(1)
	if exp != "" && (exp[0] == '+' || exp[0] == '-') {
		if exp[0] == '-' {
			sign = -1
		}
		exp = exp[1:]
	}
	exp = strings.TrimLeft(exp, "0")
	if len(exp) <= 18 {
		e := int64(0)
		if exp != "" {
			e, _ = strconv.ParseInt(exp, 10, 64) // at most 18 digits: fits
		}
		return strconv.AppendInt(b, sign*e+shift, 10)
	}
	e, _ := new(big.Int).SetString(exp, 10)
	if sign < 0 {
		e.Neg(e)
	}
	return e.Add(e, big.NewInt(shift)).Append(b, 10)
}

// canonicalString returns the value of a string literal (quotes
// included). A literal without escapes is its own value; escapes are
// decoded. JSON may spell lone UTF-16 surrogates (\ud800), which UTF-8
// cannot hold: such a value is returned as 0xFF (never in UTF-8) followed
// by three bytes per UTF-16 code point or lone surrogate, so that the
// mapping stays one to one.
func canonicalString(lit string) string {
	s := lit[1 : len(lit)-1]
	if strings.IndexByte(s, '\\') < 0 {
		return s // parse checked UTF-8
	}
	var runes []rune
	lone := false
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			r, size := utf8.DecodeRuneInString(s[i:])
			runes = append(runes, r)
			i += size
			continue
		}
		esc := s[i+1]
		i += 2
		if esc != 'u' {
			runes = append(runes, rune(simpleEscapes[esc]))
			continue
		}
		r := hex4(s[i:])
		i += 4
		if utf16.IsSurrogate(r) {
			if r < 0xdc00 && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if pair := utf16.DecodeRune(r, hex4(s[i+2:])); pair != utf8.RuneError {
					runes = append(runes, pair)
					i += 6
					continue
				}
			}
			lone = true
		}
		runes = append(runes, r)
	}
	if !lone {
		return string(runes)
	}
	b := []byte{0xff}
	for _, r := range runes {
		b = append(b, byte(r>>16), byte(r>>8), byte(r))
	}
	return string(b)
}

var simpleEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func hex4(s string) rune {
	return rune(hexVal(s[0])<<12 | hexVal(s[1])<<8 | hexVal(s[2])<<4 | hexVal(s[3]))
}

// displayString turns a canonical string back into text, with U+FFFD for
// lone surrogates (as encoding/json decodes them). It names keys in JSON
// pointers.
func displayString(canon string) string {
	if canon == "" || canon[0] != 0xff {
		return canon
	}
	var sb strings.Builder
	for i := 1; i+3 <= len(canon); i += 3 {
		r := rune(canon[i])<<16 | rune(canon[i+1])<<8 | rune(canon[i+2])
		if utf16.IsSurrogate(r) {
			r = utf8.RuneError
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
