package text

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// This file generates base/ours/theirs cases from a seeded corpus of
// text and runs git merge-file on them, for the agreement tests. The
// corpus depends on nothing but the code below: the same seed gives the
// same cases on every machine.

// corpusFile is one generated text file to draw cases from.
type corpusFile struct {
	name string
	data []byte
}

// corpusSize is the number of files in the corpus.
const corpusSize = 48

// genCorpus generates the corpus: files shaped like source code (blocks,
// closing braces, blank lines and boilerplate that repeat, as the lines
// xdiff's heuristics and slides act on), prose (wrapped paragraphs),
// and configuration (sections of key = value); a few long enough (over
// 1,500 lines) for the cost limits.
func genCorpus(seed uint64) []corpusFile {
	r := rand.New(rand.NewPCG(seed, 0xc0de))
	files := make([]corpusFile, corpusSize)
	for i := range files {
		lines := 20 + r.IntN(600)
		if i%6 == 0 {
			lines = 1500 + r.IntN(2500)
		}
		var data []byte
		var kind string
		switch i % 3 {
		case 0:
			kind, data = "code", genCode(r, lines)
		case 1:
			kind, data = "prose", genProse(r, lines)
		default:
			kind, data = "config", genConfig(r, lines)
		}
		files[i] = corpusFile{name: fmt.Sprintf("%s%02d", kind, i), data: data}
	}
	return files
}

var corpusWords = strings.Fields(`the a of to and in is it that for on with as be this are by
	merge line file change value state index commit node key read write store error count
	old new next left right first last open close start end ours theirs base diff hunk`)

func word(r *rand.Rand) string { return corpusWords[r.IntN(len(corpusWords))] }

func genCode(r *rand.Rand, lines int) []byte {
	var b bytes.Buffer
	for n := 0; n < lines; {
		fmt.Fprintf(&b, "// %s %s %s.\nfunc %s%d(%s int) error {\n", word(r), word(r), word(r), word(r), r.IntN(100), word(r))
		n += 2
		for k := 2 + r.IntN(14); k > 0; k-- {
			switch r.IntN(8) {
			case 0:
				b.WriteString("\tif err != nil {\n\t\treturn err\n\t}\n")
				n += 3
			case 1:
				fmt.Fprintf(&b, "\tfor i := range %s {\n\t\t%s[i] = %s(%d)\n\t}\n", word(r), word(r), word(r), r.IntN(10))
				n += 3
			case 2:
				b.WriteString("\n")
				n++
			case 3:
				b.WriteString("\treturn nil\n")
				n++
			default:
				fmt.Fprintf(&b, "\t%s := %s.%s(%s, %d)\n", word(r), word(r), word(r), word(r), r.IntN(50))
				n++
			}
		}
		b.WriteString("\treturn nil\n}\n\n")
		n += 3
	}
	return b.Bytes()
}

func genProse(r *rand.Rand, lines int) []byte {
	var b bytes.Buffer
	col := 0
	for n := 0; n < lines; {
		w := word(r)
		if col+len(w) > 70 {
			b.WriteByte('\n')
			n++
			col = 0
			if r.IntN(6) == 0 {
				b.WriteByte('\n')
				n++
			}
		}
		if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func genConfig(r *rand.Rand, lines int) []byte {
	var b bytes.Buffer
	for n := 0; n < lines; {
		fmt.Fprintf(&b, "[%s]\n", word(r))
		n++
		for k := 1 + r.IntN(8); k > 0; k-- {
			fmt.Fprintf(&b, "%s = %s\n", word(r), []string{"true", "false", "0", "1", word(r)}[r.IntN(5)])
			n++
		}
		b.WriteString("\n")
		n++
	}
	return b.Bytes()
}

type mergeCase struct {
	name               string
	base, ours, theirs []byte
}

// genCase builds case number i: a window of 50-500 lines of a file as the
// base, and two sets of seeded line edits as ours and theirs, often close
// to each other so that some overlap or touch, sometimes shared.
func genCase(files []corpusFile, seed uint64, i int) mergeCase {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	f := files[r.IntN(len(files))]
	name, lines := f.name, Lines(f.data)
	size := 50 + r.IntN(451)
	big := r.IntN(8) == 0 // a whole large file with a scrambled block: exercises the cost limits
	if big {
		for len(lines) < 1500 {
			f = files[r.IntN(len(files))]
			name, lines = f.name, Lines(f.data)
		}
		size = len(lines)
	}
	if size > len(lines) {
		size = len(lines)
	}
	from := r.IntN(len(lines) - size + 1)
	base := cloneLines(lines[from : from+size])
	if len(base) > 0 && r.IntN(10) == 0 { // sometimes no final newline
		last := base[len(base)-1]
		base[len(base)-1] = bytes.TrimSuffix(last, []byte{'\n'})
	}
	donor := lines // lines to insert come from the same file

	hot := make([]int, 1+r.IntN(3))
	for k := range hot {
		hot[k] = r.IntN(len(base) + 1)
	}
	e := editor{r: r, donor: donor, hot: hot, clustered: r.IntN(2) == 0}
	ours, theirs := cloneLines(base), cloneLines(base)
	if r.IntN(5) == 0 { // a shared set of edits first
		ours = e.edit(ours, 1+r.IntN(3))
		theirs = cloneLines(ours)
	}
	if big {
		ours = scramble(r, ours)
		if r.IntN(2) == 0 {
			theirs = scramble(r, theirs)
		}
	}
	ours = e.edit(ours, 1+r.IntN(6))
	theirs = e.edit(theirs, 1+r.IntN(6))
	c := mergeCase{
		name: fmt.Sprintf("%d:%s[%d:%d]", i, name, from, from+size),
		base: bytes.Join(base, nil), ours: bytes.Join(ours, nil), theirs: bytes.Join(theirs, nil),
	}
	if r.IntN(10) == 0 { // a CRLF file
		c.base, c.ours, c.theirs = toCRLF(c.base), toCRLF(c.ours), toCRLF(c.theirs)
	}
	switch r.IntN(12) { // a side loses or gains its final newline
	case 0:
		c.ours = bytes.TrimSuffix(c.ours, []byte{'\n'})
	case 1:
		c.theirs = bytes.TrimSuffix(c.theirs, []byte{'\n'})
	}
	return c
}

// scramble reverses, shuffles or moves far a block of 200 to 1,000 lines:
// lines that still match, in an order that makes the diff costly (a
// moved block also leaves long matching runs, which the heuristics look
// for).
func scramble(r *rand.Rand, lines [][]byte) [][]byte {
	n := min(200+r.IntN(801), len(lines))
	from := r.IntN(len(lines) - n + 1)
	block := lines[from : from+n]
	switch r.IntN(3) {
	case 0:
		slices.Reverse(block)
	case 1:
		r.Shuffle(len(block), func(i, j int) { block[i], block[j] = block[j], block[i] })
	default:
		moved := slices.Clone(block)
		lines = slices.Delete(lines, from, from+n)
		if from > len(lines)/2 {
			return slices.Insert(lines, 0, moved...)
		}
		return append(lines, moved...)
	}
	return lines
}

func cloneLines(lines [][]byte) [][]byte {
	out := make([][]byte, len(lines))
	for i, l := range lines {
		out[i] = slices.Clone(l)
	}
	return out
}

func toCRLF(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

type editor struct {
	r         *rand.Rand
	donor     [][]byte
	hot       []int
	clustered bool // edits gather at hot spots (else anywhere)
}

// pos picks an edit position; in clustered cases near a hot spot most of
// the time, so the two sides' edits meet.
func (e editor) pos(n int) int {
	if e.clustered && e.r.IntN(3) > 0 {
		p := e.hot[e.r.IntN(len(e.hot))] + e.r.IntN(7) - 3
		return min(max(p, 0), n)
	}
	return e.r.IntN(n + 1)
}

func (e editor) newLines(k int) [][]byte {
	out := make([][]byte, k)
	for i := range out {
		switch e.r.IntN(3) {
		case 0:
			out[i] = fmt.Appendf(nil, "\tadded line %d\n", e.r.IntN(1000))
		default:
			out[i] = slices.Clone(e.donor[e.r.IntN(len(e.donor))])
			if !bytes.HasSuffix(out[i], []byte{'\n'}) {
				out[i] = append(out[i], '\n')
			}
		}
	}
	return out
}

func (e editor) edit(lines [][]byte, edits int) [][]byte {
	for range edits {
		n := len(lines)
		p := e.pos(n)
		k := 1 + e.r.IntN(4)
		switch op := e.r.IntN(9); {
		case op == 0 || n == 0: // insert
			lines = slices.Insert(lines, p, e.newLines(k)...)
		case op == 1: // delete
			lines = slices.Delete(lines, min(p, n-1), min(p+k, n))
		case op <= 3: // replace
			q := min(p, n-1)
			lines = slices.Replace(lines, q, min(q+k, n), e.newLines(1+e.r.IntN(4))...)
		case op == 4: // move a block
			q := min(p, n-1)
			end := min(q+k+e.r.IntN(6), n)
			block := slices.Clone(lines[q:end])
			lines = slices.Delete(lines, q, end)
			to := e.r.IntN(len(lines) + 1)
			lines = slices.Insert(lines, to, block...)
		case op == 5: // duplicate a line
			q := min(p, n-1)
			lines = slices.Insert(lines, q, slices.Clone(lines[q]))
		case op == 6: // whitespace only
			q := min(p, n-1)
			l := slices.Clone(lines[q])
			if e.r.IntN(2) == 0 {
				l = append([]byte("    "), bytes.TrimLeft(l, " \t")...)
			} else {
				body := bytes.TrimRight(l, "\r\n")
				l = append(append(slices.Clone(body), ' '), l[len(body):]...)
			}
			lines[q] = l
		default: // modify one line
			q := min(p, n-1)
			l := slices.Clone(lines[q])
			body := bytes.TrimRight(l, "\r\n")
			lines[q] = append(append(slices.Clone(body), fmt.Appendf(nil, " // edit %d", e.r.IntN(100))...), l[len(body):]...)
		}
	}
	return lines
}

// gitMerge runs git merge-file -p on a case with the labels ours, base
// and theirs, plus extra flags, and returns its output and exit status
// (the number of conflicts).
func gitMerge(t testing.TB, dir string, c mergeCase, flags ...string) ([]byte, int) {
	t.Helper()
	for name, data := range map[string][]byte{"base": c.base, "ours": c.ours, "theirs": c.theirs} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"merge-file", "-p", "-L", "ours", "-L", "base", "-L", "theirs"}, flags...)
	args = append(args, "ours", "base", "theirs")
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CEILING_DIRECTORIES="+filepath.Dir(dir))
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	status := 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("git merge-file: %v", err)
	}
	return out.Bytes(), status
}

func needGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH")
	}
}
