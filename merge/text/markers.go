package text

import (
	"bytes"
	"fmt"

	"github.com/folio-db/folio/objects"
)

// Style is the layout of conflict markers.
type Style uint8

// Marker styles, as git's merge.conflictStyle.
const (
	StyleMerge  Style = iota // ours, =======, theirs
	StyleDiff3               // ours, ||||||| base, =======, theirs; conflicts not refined
	StyleZDiff3              // diff3, with lines common to both sides moved out of the conflict
)

// DefaultMarkerSize is the length of a conflict marker.
const DefaultMarkerSize = 7

// MarkerOptions say how Markers renders conflicts.
type MarkerOptions struct {
	Style Style
	// Labels name ours, base and theirs after their markers; an empty
	// label leaves the marker bare.
	Labels [3]string
	// MarkerSize is the marker length; zero or less means 7.
	MarkerSize int
}

// Resolve returns the merged text with every conflict settled for one
// side: the clean changes of both sides, and the winner's lines in each
// conflict. It is what git merge-file --ours (or --theirs) writes.
func (r Result) Resolve(winner objects.Side) []byte {
	var out bytes.Buffer
	out.Grow(r.sizeHint())
	for _, h := range r.Hunks {
		switch {
		case h.Kind == TheirsOnly, h.Kind == Conflict && winner == objects.SideTheirs:
			out.Write(h.Theirs)
		default:
			out.Write(h.Ours)
		}
	}
	return out.Bytes()
}

// sizeHint guesses the merged size; a zero Result has no inputs.
func (r Result) sizeHint() int {
	if r.ours == nil || r.theirs == nil {
		return 0
	}
	return max(len(r.ours.text), len(r.theirs.text)) + 64
}

// Markers returns the merged text with each conflict shown between git's
// conflict markers, byte for byte what git merge-file -p writes for the
// same inputs, style and labels. Marker lines end in CRLF when the lines
// around the conflict do (as git decides it), and a side whose last line
// lacks a newline gets one so that the next marker starts a line.
func (r Result) Markers(opts MarkerOptions) []byte {
	var out bytes.Buffer
	out.Grow(r.sizeHint())
	for _, h := range r.styleHunks(opts.Style) {
		switch h.Kind {
		case TheirsOnly:
			out.Write(h.Theirs)
		case Conflict:
			r.writeConflict(&out, h, opts)
		default:
			out.Write(h.Ours)
		}
	}
	return out.Bytes()
}

// MarkerConflicts is the number of conflicts Markers shows in a style,
// which is git merge-file's exit status (capped at 127 there). The diff3
// styles do not refine conflicts, so they may show more than Conflicts.
func (r Result) MarkerConflicts(style Style) int {
	if style == StyleMerge {
		return r.Conflicts
	}
	return countConflicts(r.diff3)
}

func (r Result) styleHunks(style Style) []Hunk {
	switch style {
	case StyleDiff3:
		return r.diff3
	case StyleZDiff3:
		return r.trimmedDiff3()
	}
	return r.Hunks
}

// trimmedDiff3 moves the lines that open or close both sides of a diff3
// conflict out of it; the conflict keeps its whole base.
func (r Result) trimmedDiff3() []Hunk {
	out := make([]Hunk, 0, len(r.diff3))
	m := merger{base: r.base, ours: r.ours, theirs: r.theirs}
	for _, h := range r.diff3 {
		if h.Kind != Conflict {
			out = append(out, h)
			continue
		}
		o := span{h.OursLines.Start, h.OursLines.End}
		t := span{h.TheirsLines.Start, h.TheirsLines.End}
		trimmed := trimCommon(r.ours, r.theirs, []item{{mode: itemConflict, ours: o, theirs: t}})[0]
		bs := span{h.BaseLines.Start, h.BaseLines.End}
		if n := trimmed.ours.lo - o.lo; n > 0 {
			out = append(out, m.hunk(Same, span{bs.lo, bs.lo}, span{o.lo, trimmed.ours.lo}, span{t.lo, trimmed.theirs.lo}))
		}
		out = append(out, m.hunk(Conflict, bs, trimmed.ours, trimmed.theirs))
		if n := o.hi - trimmed.ours.hi; n > 0 {
			out = append(out, m.hunk(Same, span{bs.hi, bs.hi}, span{trimmed.ours.hi, o.hi}, span{trimmed.theirs.hi, t.hi}))
		}
	}
	return out
}

func (r Result) writeConflict(out *bytes.Buffer, h Hunk, opts MarkerOptions) {
	size := opts.MarkerSize
	if size <= 0 {
		size = DefaultMarkerSize
	}
	eol := "\n"
	if r.needsCR(h) {
		eol = "\r\n"
	}
	marker := func(c byte, label string) {
		out.Write(bytes.Repeat([]byte{c}, size))
		if label != "" {
			out.WriteByte(' ')
			out.WriteString(label)
		}
		out.WriteString(eol)
	}
	body := func(text []byte) {
		out.Write(text)
		if len(text) > 0 && text[len(text)-1] != '\n' {
			out.WriteString(eol)
		}
	}
	marker('<', opts.Labels[0])
	body(h.Ours)
	if opts.Style != StyleMerge {
		marker('|', opts.Labels[1])
		body(h.Base)
	}
	marker('=', "")
	body(h.Theirs)
	marker('>', opts.Labels[2])
}

// needsCR decides, as git does, whether a conflict's marker lines end in
// CRLF: the line before the conflict in ours (or its first line) must end
// in CRLF, then the same in theirs, and then the first line of the base.
// Each file may abstain when it cannot tell (it is empty, or its only
// line lacks an ending); if all abstain, LF.
func (r Result) needsCR(h Hunk) bool {
	style := eolStyle(r.ours, max(h.OursLines.Start-1, 0))
	if style != 0 {
		style = eolStyle(r.theirs, max(h.TheirsLines.Start-1, 0))
	}
	if style != 0 {
		style = eolStyle(r.base, 0)
	}
	return style > 0
}

// eolStyle is 1 if line i of f ends in CRLF, 0 if in LF alone, -1 if it
// cannot tell. The last line, when it lacks an ending, is judged by the
// line before it.
func eolStyle(f *file, i int) int {
	crlf := func(l []byte) int {
		if len(l) > 1 && l[len(l)-2] == '\r' {
			return 1
		}
		return 0
	}
	n := len(f.lines)
	switch {
	case i < n-1:
		return crlf(f.lines[i])
	case n == 0:
		return -1
	case bytes.HasSuffix(f.lines[i], []byte{'\n'}):
		return crlf(f.lines[i])
	case i == 0:
		return -1
	}
	return crlf(f.lines[i-1])
}

// ConflictPaths describes where each conflict is, in order, by the base
// lines it covers: "lines 12-14", "line 7", or for a conflict between two
// base lines (both sides added lines there) "after line 11" or "at start".
// Conflict records store these.
func (r Result) ConflictPaths() []string { return r.ConflictPathsAt(0) }

// ConflictPathsAt is ConflictPaths for a merge of a stretch of a larger
// document whose base starts at line firstLine (0-based): the paths name
// lines of the whole document.
func (r Result) ConflictPathsAt(firstLine int) []string {
	var paths []string
	for _, h := range r.Hunks {
		if h.Kind == Conflict {
			paths = append(paths, LineRange{h.BaseLines.Start + firstLine, h.BaseLines.End + firstLine}.Describe())
		}
	}
	return paths
}

// Describe names the lines of a range as conflict paths do.
func (l LineRange) Describe() string {
	switch {
	case l.Len() > 1:
		return fmt.Sprintf("lines %d-%d", l.Start+1, l.End)
	case l.Len() == 1:
		return fmt.Sprintf("line %d", l.Start+1)
	case l.Start == 0:
		return "at start"
	}
	return fmt.Sprintf("after line %d", l.Start)
}
