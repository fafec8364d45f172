package text

import (
	"bytes"
	"hash/maphash"
)

// Lines splits text into lines, each keeping its terminator ("\n", which
// for a CRLF line is preceded by its "\r"); the last line lacks one when
// the text does not end in a newline. Empty text has no lines. The lines
// alias text.
func Lines(text []byte) [][]byte {
	if len(text) == 0 {
		return nil
	}
	lines := make([][]byte, 0, bytes.Count(text, []byte{'\n'})+1)
	for len(text) > 0 {
		i := bytes.IndexByte(text, '\n')
		if i < 0 {
			lines = append(lines, text)
			break
		}
		lines = append(lines, text[:i+1:i+1])
		text = text[i+1:]
	}
	return lines
}

// file is one input of a merge or diff: its text, its lines and one token
// per line. Equal lines (byte for byte, terminator included) get equal
// tokens, within one interner.
type file struct {
	text  []byte
	lines [][]byte
	tok   []uint64
	// start[i] is the offset of line i in text; start[len(lines)] is
	// len(text).
	start []int
}

// interner gives each distinct line a small dense token, in order of first
// appearance, so the sequence diff can count tokens in slices. It is an
// open-addressing hash table of line bytes: no string per line, and the
// tokens do not depend on the hash seed.
type interner struct {
	seed   maphash.Seed
	slots  []uint32 // token+1 per slot, 0 when free; the length is a power of two
	lines  [][]byte // a line of each token
	hashes []uint64 // its hash
}

// newInterner sizes the table for about lines distinct lines.
func newInterner(lines int) *interner {
	n := 16
	for n < 2*lines {
		n <<= 1
	}
	return &interner{seed: maphash.MakeSeed(), slots: make([]uint32, n)}
}

func (in *interner) token(line []byte) uint64 {
	h := maphash.Bytes(in.seed, line)
	mask := uint64(len(in.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := in.slots[i]
		if s == 0 {
			t := len(in.lines)
			in.lines = append(in.lines, line)
			in.hashes = append(in.hashes, h)
			in.slots[i] = uint32(t + 1)
			if 2*len(in.lines) > len(in.slots) {
				in.grow()
			}
			return uint64(t)
		}
		if t := s - 1; in.hashes[t] == h && bytes.Equal(in.lines[t], line) {
			return uint64(t)
		}
	}
}

func (in *interner) grow() {
	in.slots = make([]uint32, 2*len(in.slots))
	mask := uint64(len(in.slots) - 1)
	for t, h := range in.hashes {
		i := h & mask
		for in.slots[i] != 0 {
			i = (i + 1) & mask
		}
		in.slots[i] = uint32(t + 1)
	}
}

func (in *interner) file(text []byte) *file {
	f := &file{text: text, lines: Lines(text)}
	f.tok = make([]uint64, len(f.lines))
	f.start = make([]int, len(f.lines)+1)
	off := 0
	for i, l := range f.lines {
		f.tok[i] = in.token(l)
		f.start[i] = off
		off += len(l)
	}
	f.start[len(f.lines)] = off
	return f
}

// lineCount estimates the lines of some texts, to size an interner.
func lineCount(texts ...[]byte) int {
	n := 0
	for _, t := range texts {
		n += bytes.Count(t, []byte{'\n'}) + 1
	}
	return n
}

// span returns the text of lines [lo, hi) without copying.
func (f *file) span(lo, hi int) []byte {
	return f.text[f.start[lo]:f.start[hi]:f.start[hi]]
}
