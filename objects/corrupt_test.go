package objects_test

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

// corruptCase is a hand-built encoding and whether its decoder must accept
// it. Each table starts with valid inputs built the same way as the bad
// ones, so a bad case fails for the reason its name gives and not because
// the builder is wrong.
type corruptCase struct {
	name string
	data []byte
	ok   bool
}

func runCorruptCases(t *testing.T, decode func([]byte) (any, error), cases []corruptCase) {
	t.Helper()
	for _, tc := range cases {
		_, err := decode(tc.data)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v, want success", tc.name, err)
		case !tc.ok && !errors.Is(err, objects.ErrCorrupt):
			t.Errorf("%s: error %v, want ErrCorrupt", tc.name, err)
		}
		// Decode agrees with the typed decoder.
		if _, err2 := objects.Decode(tc.data); (err == nil) != (err2 == nil) {
			t.Errorf("%s: typed decoder says %v, Decode says %v", tc.name, err, err2)
		}
	}
}

// overlong is the two-byte, non-canonical varint form of a value below 128.
func overlong(v byte) []byte { return []byte{v | 0x80, 0x00} }

// tooLongVarint is an 11-byte varint, more than a uint64 can hold.
var tooLongVarint = []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}

func leafItem(key string, id objects.ID, kind objects.Kind, size uint64) []byte {
	return raw(str(key), id, kind, uv(size))
}

func innerItem(key string, id objects.ID, count uint64) []byte {
	return raw(str(key), id, uv(count))
}

func TestDecodeNodeRejects(t *testing.T) {
	x := fakeID(0x11)
	leaf := func(items ...[]byte) []byte {
		parts := []any{hdr(objects.TypeNode), byte(0), uv(len(items))}
		for _, it := range items {
			parts = append(parts, it)
		}
		return raw(parts...)
	}
	inner := func(level byte, items ...[]byte) []byte {
		parts := []any{hdr(objects.TypeNode), level, uv(len(items))}
		for _, it := range items {
			parts = append(parts, it)
		}
		return raw(parts...)
	}
	cases := []corruptCase{
		{"valid leaf", leaf(leafItem("a", x, objects.KindText, 1), leafItem("b", x, objects.KindJSON, 2)), true},
		{"valid leaf of every kind", leaf(
			leafItem("a", x, objects.KindText, 0), leafItem("b", x, objects.KindJSON, 0),
			leafItem("c", x, objects.KindBinary, 0), leafItem("d", x, objects.KindConflict, 0)), true},
		{"valid internal node", inner(1, innerItem("a", x, 1), innerItem("b", x, 300)), true},
		{"valid node at the top level", inner(objects.MaxNodeLevel, innerItem("a", x, 1)), true},
		{"valid longest key", leaf(leafItem(longKey(objects.MaxKeyLen), x, objects.KindText, 1)), true},

		{"header only", raw(hdr(objects.TypeNode)), false},
		{"no count", raw(hdr(objects.TypeNode), byte(0)), false},
		{"empty node", leaf(), false},
		{"empty internal node", inner(1), false},
		{"level above the maximum", inner(objects.MaxNodeLevel+1, innerItem("a", x, 1)), false},
		{"level 255", inner(255, innerItem("a", x, 1)), false},

		{"keys out of order", leaf(leafItem("b", x, objects.KindText, 1), leafItem("a", x, objects.KindText, 1)), false},
		{"duplicate keys", leaf(leafItem("a", x, objects.KindText, 1), leafItem("a", x, objects.KindText, 1)), false},
		{"duplicate keys in an internal node", inner(1, innerItem("a", x, 1), innerItem("a", x, 1)), false},
		{"keys out of order in an internal node", inner(2, innerItem("b", x, 1), innerItem("a", x, 1)), false},
		{"out of order by byte value", leaf(leafItem("é", x, objects.KindText, 1), leafItem("z", x, objects.KindText, 1)), false},

		{"zero ID in a leaf", leaf(leafItem("a", objects.ID{}, objects.KindText, 1)), false},
		{"zero child ID", inner(1, innerItem("a", x, 1), innerItem("b", objects.ID{}, 1)), false},
		{"kind 0 in a leaf", leaf(leafItem("a", x, 0, 1)), false},
		{"kind 5 in a leaf", leaf(leafItem("a", x, 5, 1)), false},
		{"kind 255 in a leaf", leaf(leafItem("a", x, 255, 1)), false},

		{"count larger than the items", raw(hdr(objects.TypeNode), byte(0), uv(3), leafItem("a", x, objects.KindText, 1), leafItem("b", x, objects.KindText, 1)), false},
		{"count smaller than the items", raw(hdr(objects.TypeNode), byte(0), uv(1), leafItem("a", x, objects.KindText, 1), leafItem("b", x, objects.KindText, 1)), false},
		{"count 2^31", raw(hdr(objects.TypeNode), byte(0), uv(1<<31), leafItem("a", x, objects.KindText, 1)), false},
		{"count 2^63", raw(hdr(objects.TypeNode), byte(0), uv(1<<63), leafItem("a", x, objects.KindText, 1)), false},
		{"count max uint64", raw(hdr(objects.TypeNode), byte(0), uv(math.MaxUint64), leafItem("a", x, objects.KindText, 1)), false},
		{"count varint too long", raw(hdr(objects.TypeNode), byte(0), tooLongVarint, leafItem("a", x, objects.KindText, 1)), false},
		{"key length past the end", raw(hdr(objects.TypeNode), byte(0), uv(1), uv(1000), "a", x, objects.KindText, uv(1)), false},
		{"key length 2^63", raw(hdr(objects.TypeNode), byte(0), uv(1), uv(1<<63), "a", x, objects.KindText, uv(1)), false},
		{"size varint too long", raw(hdr(objects.TypeNode), byte(0), uv(1), str("a"), x, objects.KindText, tooLongVarint), false},
		{"size varint cut", raw(hdr(objects.TypeNode), byte(0), uv(1), str("a"), x, objects.KindText, byte(0x80)), false},

		{"overlong count", raw(hdr(objects.TypeNode), byte(0), overlong(1), leafItem("a", x, objects.KindText, 1)), false},
		{"overlong key length", raw(hdr(objects.TypeNode), byte(0), uv(1), overlong(1), "a", x, objects.KindText, uv(1)), false},
		{"overlong size", raw(hdr(objects.TypeNode), byte(0), uv(1), str("a"), x, objects.KindText, overlong(1)), false},
		{"overlong zero size", raw(hdr(objects.TypeNode), byte(0), uv(1), str("a"), x, objects.KindText, overlong(0)), false},
		{"overlong child count", raw(hdr(objects.TypeNode), byte(1), uv(1), str("a"), x, overlong(5)), false},
	}
	for _, key := range []string{"", "/a", "a/", "a//b", ".", "..", "a/../b", "a\x00", "a\x7f", "a\u0085", "\xff", longKey(objects.MaxKeyLen + 1)} {
		cases = append(cases,
			corruptCase{"invalid leaf key " + strings.ToValidUTF8(key[:min(len(key), 10)], "?"), leaf(leafItem(key, x, objects.KindText, 1)), false},
			corruptCase{"invalid internal key " + strings.ToValidUTF8(key[:min(len(key), 10)], "?"), inner(1, innerItem(key, x, 1)), false},
		)
	}
	runCorruptCases(t, func(b []byte) (any, error) { return objects.DecodeNode(b) }, cases)
}

// An internal node's Size counts the leaf entries below the child, and
// nodes are never empty, so a count of 0 can only be corrupt.
func TestDecodeNodeRejectsEmptyChildCount(t *testing.T) {
	x := fakeID(0x11)
	runCorruptCases(t, func(b []byte) (any, error) { return objects.DecodeNode(b) }, []corruptCase{
		{"child count 0", raw(hdr(objects.TypeNode), byte(1), uv(2), innerItem("a", x, 0), innerItem("b", x, 3)), false},
	})
}

type commitFields struct {
	index, conflicts objects.ID
	parents          []objects.ID
	height           uint64
	name, email      string
	sec              int64
	nsec             uint64
	offset           int64
	message          string
}

func (c commitFields) bytes() []byte {
	parts := []any{hdr(objects.TypeCommit), c.index, c.conflicts, uv(len(c.parents))}
	for _, p := range c.parents {
		parts = append(parts, p)
	}
	parts = append(parts, uv(c.height), str(c.name), str(c.email), sv(c.sec), uv(c.nsec), sv(c.offset), str(c.message))
	return raw(parts...)
}

func TestDecodeCommitRejects(t *testing.T) {
	p1, p2 := fakeID(0x01), fakeID(0x02)
	root := commitFields{height: 1, name: "n", email: "e", sec: 1700000000, message: "m"}
	with := func(edit func(*commitFields)) []byte {
		c := root
		edit(&c)
		return c.bytes()
	}
	manyParents := func(n int) []objects.ID {
		ps := make([]objects.ID, n)
		for i := range ps {
			ps[i] = fakeID(byte(i + 1))
		}
		return ps
	}
	cases := []corruptCase{
		{"valid root", root.bytes(), true},
		{"valid child", with(func(c *commitFields) { c.parents, c.height = []objects.ID{p1}, 2 }), true},
		{"valid child far above its parent", with(func(c *commitFields) { c.parents, c.height = []objects.ID{p1}, math.MaxUint64 }), true},
		{"valid merge", with(func(c *commitFields) { c.parents, c.height = []objects.ID{p1, p2}, 7 }), true},
		{"valid with the most parents", with(func(c *commitFields) { c.parents, c.height = manyParents(objects.MaxParents), 2 }), true},
		{"valid largest nanoseconds", with(func(c *commitFields) { c.nsec = 999999999 }), true},
		{"valid largest offsets", with(func(c *commitFields) { c.offset = 24*3600 - 1 }), true},
		{"valid smallest offset", with(func(c *commitFields) { c.offset = -(24*3600 - 1) }), true},
		{"valid negative time", with(func(c *commitFields) { c.sec = -1 << 40 }), true},
		{"valid empty everything", with(func(c *commitFields) { c.name, c.email, c.message, c.sec = "", "", "", 0 }), true},
		{"valid index and conflicts", with(func(c *commitFields) { c.index, c.conflicts = p1, p2 }), true},

		{"root with height 0", with(func(c *commitFields) { c.height = 0 }), false},
		{"root with height 2", with(func(c *commitFields) { c.height = 2 }), false},
		{"child with height 1", with(func(c *commitFields) { c.parents, c.height = []objects.ID{p1}, 1 }), false},
		{"child with height 0", with(func(c *commitFields) { c.parents, c.height = []objects.ID{p1}, 0 }), false},
		{"zero parent", with(func(c *commitFields) { c.parents, c.height = []objects.ID{{}}, 2 }), false},
		{"zero second parent", with(func(c *commitFields) { c.parents, c.height = []objects.ID{p1, {}}, 2 }), false},
		{"too many parents", with(func(c *commitFields) { c.parents, c.height = manyParents(objects.MaxParents+1), 2 }), false},
		{"nanoseconds 1e9", with(func(c *commitFields) { c.nsec = 1e9 }), false},
		{"nanoseconds max", with(func(c *commitFields) { c.nsec = math.MaxUint64 }), false},
		{"offset a day", with(func(c *commitFields) { c.offset = 24 * 3600 }), false},
		{"offset minus a day", with(func(c *commitFields) { c.offset = -24 * 3600 }), false},
		{"offset min int64", with(func(c *commitFields) { c.offset = math.MinInt64 }), false},

		{"parent count past the end", raw(hdr(objects.TypeCommit), p1, p2, uv(5), p1), false},
		{"parent count 2^62", raw(hdr(objects.TypeCommit), p1, p2, uv(1<<62), p1), false},
		{"name length past the end", raw(hdr(objects.TypeCommit), p1, p2, uv(0), uv(1), uv(100), "abc"), false},
		{"overlong parent count", raw(hdr(objects.TypeCommit), objects.ID{}, objects.ID{}, overlong(0), uv(1), str("n"), str("e"), sv(0), uv(0), sv(0), str("")), false},
		{"overlong height", raw(hdr(objects.TypeCommit), objects.ID{}, objects.ID{}, uv(0), overlong(1), str("n"), str("e"), sv(0), uv(0), sv(0), str("")), false},
		{"overlong seconds", raw(hdr(objects.TypeCommit), objects.ID{}, objects.ID{}, uv(0), uv(1), str("n"), str("e"), overlong(0), uv(0), sv(0), str("")), false},
		{"overlong nanoseconds", raw(hdr(objects.TypeCommit), objects.ID{}, objects.ID{}, uv(0), uv(1), str("n"), str("e"), sv(0), overlong(0), sv(0), str("")), false},
		{"overlong offset", raw(hdr(objects.TypeCommit), objects.ID{}, objects.ID{}, uv(0), uv(1), str("n"), str("e"), sv(0), uv(0), overlong(2), str("")), false},
		{"overlong message length", raw(hdr(objects.TypeCommit), objects.ID{}, objects.ID{}, uv(0), uv(1), str("n"), str("e"), sv(0), uv(0), sv(0), overlong(1), "m"), false},
		{"seconds varint too long", raw(hdr(objects.TypeCommit), objects.ID{}, objects.ID{}, uv(0), uv(1), str("n"), str("e"), tooLongVarint, uv(0), sv(0), str("")), false},
	}
	runCorruptCases(t, func(b []byte) (any, error) { return objects.DecodeCommit(b) }, cases)
}

type conflictFields struct {
	key                  string
	sides                [3]objects.Entry
	oursC, theirsC       objects.ID
	winner               objects.Side
	paths                []string
	replaces             []objects.ID
	rawPathCount, rawEnd []byte // replace the path count, or append, when set
}

func (c conflictFields) bytes() []byte {
	parts := []any{hdr(objects.TypeConflict), str(c.key)}
	for _, e := range c.sides {
		parts = append(parts, e.ID, e.Kind, uv(e.Size))
	}
	parts = append(parts, c.oursC, c.theirsC, c.winner)
	if c.rawPathCount != nil {
		parts = append(parts, c.rawPathCount)
	} else {
		parts = append(parts, uv(len(c.paths)))
	}
	for _, p := range c.paths {
		parts = append(parts, str(p))
	}
	parts = append(parts, uv(len(c.replaces)))
	for _, id := range c.replaces {
		parts = append(parts, id)
	}
	return raw(parts...)
}

func TestDecodeConflictRejects(t *testing.T) {
	text := objects.Entry{ID: fakeID(0x0a), Kind: objects.KindText, Size: 3}
	absent := objects.Entry{}
	valid := conflictFields{
		key: "docs/a.txt", sides: [3]objects.Entry{text, text, text},
		oursC: fakeID(0xc1), theirsC: fakeID(0xc2), winner: objects.SideOurs, paths: []string{"1-2"},
	}
	with := func(edit func(*conflictFields)) []byte {
		c := valid
		edit(&c)
		return c.bytes()
	}
	cases := []corruptCase{
		{"valid", valid.bytes(), true},
		{"valid theirs wins", with(func(c *conflictFields) { c.winner = objects.SideTheirs }), true},
		{"valid base absent", with(func(c *conflictFields) { c.sides[0] = absent }), true},
		{"valid ours absent", with(func(c *conflictFields) { c.sides[1] = absent }), true},
		{"valid theirs absent", with(func(c *conflictFields) { c.sides[2] = absent }), true},
		{"valid no paths", with(func(c *conflictFields) { c.paths = nil }), true},
		{"valid empty path", with(func(c *conflictFields) { c.paths = []string{""} }), true},
		{"valid JSON and binary sides", with(func(c *conflictFields) {
			c.sides[1].Kind, c.sides[2].Kind = objects.KindJSON, objects.KindBinary
		}), true},

		{"valid replaces", with(func(c *conflictFields) { c.replaces = []objects.ID{fakeID(1), fakeID(2)} }), true},
		{"replaces unsorted", with(func(c *conflictFields) { c.replaces = []objects.ID{fakeID(2), fakeID(1)} }), false},
		{"replaces repeated", with(func(c *conflictFields) { c.replaces = []objects.ID{fakeID(1), fakeID(1)} }), false},
		{"replaces zero", with(func(c *conflictFields) { c.replaces = []objects.ID{{}} }), false},
		{"replaces too many", with(func(c *conflictFields) {
			for i := range objects.MaxReplaces + 1 {
				c.replaces = append(c.replaces, fakeID(byte(i+1)))
			}
		}), false},
		{"winner 0", with(func(c *conflictFields) { c.winner = 0 }), false},
		{"winner 3", with(func(c *conflictFields) { c.winner = 3 }), false},
		{"empty key", with(func(c *conflictFields) { c.key = "" }), false},
		{"key with empty segment", with(func(c *conflictFields) { c.key = "a//b" }), false},
		{"key with NUL", with(func(c *conflictFields) { c.key = "a\x00" }), false},
		{"key not UTF-8", with(func(c *conflictFields) { c.key = "\xff" }), false},
		{"key too long", with(func(c *conflictFields) { c.key = longKey(objects.MaxKeyLen + 1) }), false},
		{"absent side with a kind", with(func(c *conflictFields) { c.sides[0] = objects.Entry{Kind: objects.KindText} }), false},
		{"present side without a kind", with(func(c *conflictFields) { c.sides[1].Kind = 0 }), false},
		{"side of kind conflict", with(func(c *conflictFields) { c.sides[2].Kind = objects.KindConflict }), false},
		{"side of kind 5", with(func(c *conflictFields) { c.sides[2].Kind = 5 }), false},
		{"too many paths", with(func(c *conflictFields) { c.paths = make([]string, objects.MaxConflictPaths+1) }), false},
		{"path count past the end", with(func(c *conflictFields) { c.rawPathCount = raw(uv(5)) }), false},
		{"path count 2^40", with(func(c *conflictFields) { c.rawPathCount = raw(uv(1 << 40)) }), false},
		{"overlong path count", with(func(c *conflictFields) { c.rawPathCount = overlong(1) }), false},
		{"overlong size", raw(hdr(objects.TypeConflict), str("k"),
			text.ID, text.Kind, overlong(3), text.ID, text.Kind, uv(3), text.ID, text.Kind, uv(3),
			fakeID(1), fakeID(2), objects.SideOurs, uv(0), uv(0)), false},
		{"overlong key length", raw(hdr(objects.TypeConflict), overlong(1), "k",
			text.ID, text.Kind, uv(3), text.ID, text.Kind, uv(3), text.ID, text.Kind, uv(3),
			fakeID(1), fakeID(2), objects.SideOurs, uv(0), uv(0)), false},
	}
	runCorruptCases(t, func(b []byte) (any, error) { return objects.DecodeConflict(b) }, cases)
}

// An absent side is the zero Entry: a size on it means nothing and would
// give one conflict two encodings.
func TestDecodeConflictRejectsSizeOnAbsentSide(t *testing.T) {
	text := objects.Entry{ID: fakeID(0x0a), Kind: objects.KindText, Size: 3}
	c := conflictFields{
		key: "docs/a.txt", sides: [3]objects.Entry{{Size: 7}, text, text},
		oursC: fakeID(0xc1), theirsC: fakeID(0xc2), winner: objects.SideOurs,
	}
	runCorruptCases(t, func(b []byte) (any, error) { return objects.DecodeConflict(b) }, []corruptCase{
		{"absent base with size 7", c.bytes(), false},
	})
}

func TestDecodeWorkingSetRejects(t *testing.T) {
	z, x := objects.ID{}, fakeID(0x33)
	cases := []corruptCase{
		{"valid empty", raw(hdr(objects.TypeWorkingSet), z, z, z, z, str("")), true},
		{"valid full", raw(hdr(objects.TypeWorkingSet), x, x, x, x, str("merge")), true},
		{"missing message", raw(hdr(objects.TypeWorkingSet), z, z, z, z), false},
		{"three IDs", raw(hdr(objects.TypeWorkingSet), z, z, z, str("")), false},
		{"overlong message length", raw(hdr(objects.TypeWorkingSet), z, z, z, z, overlong(1), "m"), false},
		{"overlong empty message", raw(hdr(objects.TypeWorkingSet), z, z, z, z, overlong(0)), false},
		{"message length past the end", raw(hdr(objects.TypeWorkingSet), z, z, z, z, uv(10), "m"), false},
		{"message length 2^63", raw(hdr(objects.TypeWorkingSet), z, z, z, z, uv(1<<63), "m"), false},
		{"message length varint too long", raw(hdr(objects.TypeWorkingSet), z, z, z, z, tooLongVarint), false},
	}
	runCorruptCases(t, func(b []byte) (any, error) { return objects.DecodeWorkingSet(b) }, cases)
}

func TestDecodeChunkedRejects(t *testing.T) {
	a, b := fakeID(0x0a), fakeID(0x0b)
	cases := []corruptCase{
		{"valid two chunks", raw(hdr(objects.TypeChunked), uv(5), uv(2), a, uv(2), b, uv(3)), true},
		{"valid one chunk", raw(hdr(objects.TypeChunked), uv(2), uv(1), a, uv(2)), true},
		{"valid repeated chunk", raw(hdr(objects.TypeChunked), uv(4), uv(2), a, uv(2), a, uv(2)), true},
		{"valid huge", raw(hdr(objects.TypeChunked), uv(math.MaxUint64), uv(2), a, uv(math.MaxUint64-1), b, uv(1)), true},

		{"no chunks", raw(hdr(objects.TypeChunked), uv(0), uv(0)), false},
		{"size larger than the sum", raw(hdr(objects.TypeChunked), uv(6), uv(2), a, uv(2), b, uv(3)), false},
		{"size smaller than the sum", raw(hdr(objects.TypeChunked), uv(4), uv(2), a, uv(2), b, uv(3)), false},
		{"count past the end", raw(hdr(objects.TypeChunked), uv(5), uv(3), a, uv(2), b, uv(3)), false},
		{"count 2^40", raw(hdr(objects.TypeChunked), uv(5), uv(1<<40), a, uv(2), b, uv(3)), false},
		{"overlong size", raw(hdr(objects.TypeChunked), overlong(5), uv(2), a, uv(2), b, uv(3)), false},
		{"overlong count", raw(hdr(objects.TypeChunked), uv(5), overlong(2), a, uv(2), b, uv(3)), false},
		{"overlong chunk size", raw(hdr(objects.TypeChunked), uv(5), uv(2), a, overlong(2), b, uv(3)), false},
		{"size varint too long", raw(hdr(objects.TypeChunked), tooLongVarint, uv(2), a, uv(2), b, uv(3)), false},
	}
	runCorruptCases(t, func(b []byte) (any, error) { return objects.DecodeChunked(b) }, cases)
}

// A chunk is a blob, and the zero ID names no object.
func TestDecodeChunkedRejectsZeroChunkID(t *testing.T) {
	a := fakeID(0x0a)
	runCorruptCases(t, func(b []byte) (any, error) { return objects.DecodeChunked(b) }, []corruptCase{
		{"zero first chunk", raw(hdr(objects.TypeChunked), uv(5), uv(2), objects.ID{}, uv(2), a, uv(3)), false},
		{"zero last chunk", raw(hdr(objects.TypeChunked), uv(5), uv(2), a, uv(2), objects.ID{}, uv(3)), false},
	})
}

// Chunk sizes that add up past 2^64 must not wrap around to the stated
// size: here 2^63 + 2^63 + 5 would "equal" 5.
func TestDecodeChunkedRejectsSizeOverflow(t *testing.T) {
	a, b, c := fakeID(0x0a), fakeID(0x0b), fakeID(0x0c)
	runCorruptCases(t, func(b []byte) (any, error) { return objects.DecodeChunked(b) }, []corruptCase{
		{"sizes wrap to the total", raw(hdr(objects.TypeChunked), uv(5), uv(3), a, uv(1<<63), b, uv(1<<63), c, uv(5)), false},
	})
}

// A count that claims far more items than the input holds is refused before
// anything is allocated for it.
func TestHostileCountsDoNotAllocate(t *testing.T) {
	const claimed = 1 << 24 // items; at 40+ bytes each, 640 MiB if believed
	x := fakeID(0x44)
	inputs := map[string][]byte{
		"node":     raw(hdr(objects.TypeNode), byte(0), uv(claimed), leafItem("a", x, objects.KindText, 1)),
		"commit":   raw(hdr(objects.TypeCommit), x, x, uv(claimed), x),
		"conflict": raw(hdr(objects.TypeConflict), str("k"), x, objects.KindText, uv(1), x, objects.KindText, uv(1), x, objects.KindText, uv(1), x, x, objects.SideOurs, uv(claimed), str("p")),
		"chunked":  raw(hdr(objects.TypeChunked), uv(1), uv(claimed), x, uv(1)),
		"string":   raw(hdr(objects.TypeWorkingSet), x, x, x, x, uv(claimed*64), "m"),
	}
	// The measurement sees an allocation of the size a believed count
	// would cause.
	var sink []byte
	inputs["(self-check)"] = nil
	for name, data := range inputs {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 10 {
			if data == nil {
				sink = make([]byte, 1<<20)
				continue
			}
			if _, err := objects.Decode(data); !errors.Is(err, objects.ErrCorrupt) {
				t.Fatalf("%s: %v, want ErrCorrupt", name, err)
			}
		}
		runtime.ReadMemStats(&after)
		allocated := after.TotalAlloc - before.TotalAlloc
		switch {
		case data == nil && allocated < 10<<20:
			t.Errorf("self-check: 10 MiB allocated, MemStats saw %d bytes", allocated)
		case data != nil && allocated > 1<<20:
			t.Errorf("%s: decoding a hostile count 10 times allocated %d bytes", name, allocated)
		}
	}
	_ = sink
}
