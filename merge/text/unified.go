package text

import (
	"bytes"
	"strconv"

	"github.com/folio-db/folio/merge/sequence"
)

// Unified returns the unified diff from a to b, in the format of diff -u
// and git diff: "--- nameA" and "+++ nameB" headers, then hunks headed
// "@@ -start,count +start,count @@" with context lines around the
// changes ("@@ -3 +3 @@" when a count is 1, and the line before the hunk
// with count 0 when a side is empty), and "\ No newline at end of file"
// after a last line that lacks one. Hunks closer than 2*context lines are
// joined. Equal inputs give no output at all. The lines compared are
// byte-exact, line endings included, and the hunks are the ones git diff
// shows with --no-indent-heuristic.
func Unified(a, b []byte, nameA, nameB string, context int) []byte {
	context = max(context, 0)
	in := newInterner(lineCount(a, b))
	fa, fb := in.file(a), in.file(b)
	hunks := sequence.Diff(fa.tok, fb.tok)
	if len(hunks) == 0 {
		return nil
	}
	var out bytes.Buffer
	out.WriteString("--- " + nameA + "\n+++ " + nameB + "\n")
	for len(hunks) > 0 {
		n := 1
		for n < len(hunks) && hunks[n].A0-hunks[n-1].A1 <= 2*context {
			n++
		}
		writeUnifiedHunk(&out, fa, fb, hunks[:n], context)
		hunks = hunks[n:]
	}
	return out.Bytes()
}

func writeUnifiedHunk(out *bytes.Buffer, fa, fb *file, hunks []sequence.Hunk, context int) {
	first, last := hunks[0], hunks[len(hunks)-1]
	before := min(context, first.A0, first.B0)
	after := min(context, len(fa.lines)-last.A1, len(fb.lines)-last.B1)
	a0, a1 := first.A0-before, last.A1+after
	b0, b1 := first.B0-before, last.B1+after
	out.WriteString("@@ -")
	writeRange(out, a0, a1-a0)
	out.WriteString(" +")
	writeRange(out, b0, b1-b0)
	out.WriteString(" @@\n")
	ai := a0
	for _, h := range hunks {
		writeLines(out, ' ', fa.lines[ai:h.A0])
		writeLines(out, '-', fa.lines[h.A0:h.A1])
		writeLines(out, '+', fb.lines[h.B0:h.B1])
		ai = h.A1
	}
	writeLines(out, ' ', fa.lines[ai:a1])
}

// writeRange writes a hunk header range: 1-based start, count unless 1;
// an empty range names the line before it.
func writeRange(out *bytes.Buffer, start, count int) {
	if count == 0 {
		out.WriteString(strconv.Itoa(start))
		out.WriteString(",0")
		return
	}
	out.WriteString(strconv.Itoa(start + 1))
	if count != 1 {
		out.WriteByte(',')
		out.WriteString(strconv.Itoa(count))
	}
}

func writeLines(out *bytes.Buffer, prefix byte, lines [][]byte) {
	for _, l := range lines {
		out.WriteByte(prefix)
		out.Write(l)
		if len(l) == 0 || l[len(l)-1] != '\n' {
			out.WriteString("\n\\ No newline at end of file\n")
		}
	}
}
