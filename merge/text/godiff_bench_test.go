package text

import (
	"testing"

	"github.com/folio-db/folio/merge/sequence"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// BenchmarkLineDiff compares the line diff folio uses (merge/sequence,
// git's xdiff algorithm) with sergi/go-diff's line mode, time-out off, on
// the base and one side of the 100,000-line merge benchmark: the reason
// folio keeps its own diff is that it is both faster and matches git's
// choices exactly, which go-diff does not try to.
func BenchmarkLineDiff(b *testing.B) {
	base, ours, _ := benchInputs()
	b.Run("folio", func(b *testing.B) {
		for b.Loop() {
			in := newInterner(lineCount(base, ours))
			sequence.Diff(in.file(base).tok, in.file(ours).tok)
		}
	})
	b.Run("go-diff", func(b *testing.B) {
		dmp := diffmatchpatch.New()
		dmp.DiffTimeout = 0 // the result must depend on the inputs only
		for b.Loop() {
			a, c, lines := dmp.DiffLinesToRunes(string(base), string(ours))
			diffs := dmp.DiffMainRunes(a, c, false)
			dmp.DiffCharsToLines(diffs, lines)
		}
	})
}
