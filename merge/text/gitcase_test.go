package text

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// This file generates base/ours/theirs cases from real text on the
// machine and runs git merge-file on them, for the agreement tests.

// corpusFiles lists text files to draw cases from: Go sources and docs of
// the Go tree and the licence texts, sorted so that a seed always picks
// the same files.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	root := filepath.Join(runtime.GOROOT(), "src")
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".s") || strings.HasSuffix(path, ".txt")) {
			files = append(files, path)
		}
		return nil
	})
	for _, dir := range []string{"/usr/share/common-licenses", filepath.Join(runtime.GOROOT(), "doc")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	slices.Sort(files)
	if len(files) == 0 {
		t.Skip("no text files found to build cases from")
	}
	return files
}

type mergeCase struct {
	name               string
	base, ours, theirs []byte
}

// genCase builds case number i: a window of 50-500 lines of a file as the
// base, and two sets of seeded line edits as ours and theirs, often close
// to each other so that some overlap or touch, sometimes shared.
func genCase(files []string, seed uint64, i int) mergeCase {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	var lines [][]byte
	var name string
	for len(lines) < 20 {
		name = files[r.IntN(len(files))]
		data, err := os.ReadFile(name)
		if err != nil || bytes.IndexByte(data, 0) >= 0 {
			continue
		}
		lines = Lines(data)
	}
	size := 50 + r.IntN(451)
	big := r.IntN(8) == 0 // a whole large file with a scrambled block: exercises the cost limits
	if big {
		for tries := 0; len(lines) < 1500 && tries < 200; tries++ {
			data, err := os.ReadFile(files[r.IntN(len(files))])
			if err == nil && bytes.IndexByte(data, 0) < 0 && len(Lines(data)) >= 1500 {
				lines = Lines(data)
			}
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
		name: fmt.Sprintf("%d:%s[%d:%d]", i, filepath.Base(name), from, from+size),
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
