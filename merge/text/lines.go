package text

import "bytes"

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
// appearance, so the sequence diff can count tokens in slices.
type interner map[string]uint64

func (in interner) file(text []byte) *file {
	f := &file{text: text, lines: Lines(text)}
	f.tok = make([]uint64, len(f.lines))
	f.start = make([]int, len(f.lines)+1)
	off := 0
	for i, l := range f.lines {
		t, ok := in[string(l)]
		if !ok {
			t = uint64(len(in))
			in[string(l)] = t
		}
		f.tok[i] = t
		f.start[i] = off
		off += len(l)
	}
	f.start[len(f.lines)] = off
	return f
}

// span returns the text of lines [lo, hi) without copying.
func (f *file) span(lo, hi int) []byte {
	return f.text[f.start[lo]:f.start[hi]:f.start[hi]]
}
