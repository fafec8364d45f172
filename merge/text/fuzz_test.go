package text

import (
	"bytes"
	"testing"
)

// FuzzMerge: no input makes Merge panic; merging a side with an unchanged
// other side gives that side byte for byte, conflict-free, as does merging
// two equal sides; the hunks partition the inputs with kinds that match
// their texts, so Resolve keeps every clean change of both sides.
func FuzzMerge(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nB\nc\n"), []byte("a\nb\nC\n"))
	f.Add([]byte("a\nb\nc\n"), []byte("a\nX\nc\n"), []byte("a\nY\nc\n"))
	f.Add([]byte(""), []byte("x\r\ny"), []byte("x\r\nz"))
	f.Add([]byte("a\r\nb"), []byte("a\r\nb\r\n"), []byte("}\n}\n"))
	f.Add([]byte("1\n2\n3\n4\n5\n"), []byte("1\nx\n3\ny\n5\n"), []byte("1\nz\n3\nw\n5\n"))
	f.Fuzz(func(t *testing.T, base, x, y []byte) {
		checkIdentities(t, base, x, y)
	})
}

// FuzzUnified: the printed diff applies to a and gives b, and equal
// inputs print nothing.
func FuzzUnified(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nB\nc\n"), uint8(3))
	f.Add([]byte("a\nb"), []byte("a\nb\n"), uint8(0))
	f.Add([]byte(""), []byte("x\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, a, b []byte, context uint8) {
		patch := Unified(a, b, "a", "b", int(context%8))
		got, err := applyUnified(a, patch)
		if err != nil {
			t.Fatalf("%v in\n%s", err, patch)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("applying\n%s\nto %q gives %q, want %q", patch, a, got, b)
		}
		if len(Unified(a, a, "a", "b", 3)) != 0 {
			t.Fatal("a diff of equal texts is not empty")
		}
	})
}
