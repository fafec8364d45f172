package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// failAfter accepts n bytes and then fails every write, like a pipe whose
// reader quit (folio ls | head).
type failAfter struct {
	bytes.Buffer
	n int
}

var errClosed = errors.New("closed pipe")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.Len()+len(p) > f.n {
		return 0, errClosed
	}
	return f.Buffer.Write(p)
}

// TestLineWriter: lines come out in order once flushed; after a failed
// write the writer keeps the error and writes nothing more, so a long
// listing stops when its reader goes away.
func TestLineWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := newLineWriter(&out)
	w.line("a/1.json")
	w.printf("%s %d\n", "b", 2)
	if err := w.flush(); err != nil || out.String() != "a/1.json\nb 2\n" {
		t.Fatalf("wrote %q, %v", out.String(), err)
	}

	pipe := &failAfter{n: 100 << 10}
	w = newLineWriter(pipe)
	key := strings.Repeat("k", 99)
	lines := 0
	for ; lines < 10000 && w.err == nil; lines++ {
		w.line(key)
	}
	if !errors.Is(w.err, errClosed) || lines == 10000 {
		t.Fatalf("after %d lines the writer holds %v, want the pipe's error well before 10000", lines, w.err)
	}
	before := pipe.Len()
	w.line(key)
	if err := w.flush(); !errors.Is(err, errClosed) || pipe.Len() != before {
		t.Errorf("after the error: flush = %v, %d more bytes", err, pipe.Len()-before)
	}
	if pipe.Len()%100 != 0 {
		t.Errorf("the pipe got %d bytes: a line cut short", pipe.Len())
	}
}
