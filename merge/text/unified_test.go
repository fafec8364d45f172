package text

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// applyUnified is a small, strict patch applier for tests: it rebuilds
// the new text from the old one and a unified diff, checking every
// context and deleted line and every hunk header count.
func applyUnified(old, patch []byte) ([]byte, error) {
	lines := Lines(patch)
	if len(lines) == 0 {
		return old, nil
	}
	if len(lines) < 2 || !bytes.HasPrefix(lines[0], []byte("--- ")) || !bytes.HasPrefix(lines[1], []byte("+++ ")) {
		return nil, fmt.Errorf("missing headers")
	}
	lines = lines[2:]
	src := Lines(old)
	var out []byte
	pos := 0 // next line of src to copy
	header := regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@\n$`)
	for len(lines) > 0 {
		m := header.FindSubmatch(lines[0])
		if m == nil {
			return nil, fmt.Errorf("bad hunk header %q", lines[0])
		}
		lines = lines[1:]
		num := func(b []byte, def int) int {
			if b == nil {
				return def
			}
			n, _ := strconv.Atoi(string(b))
			return n
		}
		aStart, aCount := num(m[1], 0), num(m[2], 1)
		bCount := num(m[4], 1)
		if aCount > 0 {
			aStart-- // to 0-based; an empty range already names the line before
		}
		if aStart < pos || aStart > len(src) {
			return nil, fmt.Errorf("hunk at %d out of order", aStart)
		}
		out = append(out, bytes.Join(src[pos:aStart], nil)...)
		pos = aStart
		var gotA, gotB int
		for len(lines) > 0 && !bytes.HasPrefix(lines[0], []byte("@@")) {
			l := lines[0]
			lines = lines[1:]
			body := l[1:]
			if len(lines) > 0 && bytes.Equal(lines[0], []byte(noNewline)) {
				body = bytes.TrimSuffix(body, []byte{'\n'})
				lines = lines[1:]
			}
			switch l[0] {
			case ' ', '-':
				if pos >= len(src) || !bytes.Equal(src[pos], body) {
					return nil, fmt.Errorf("line %d does not match %q", pos+1, l)
				}
				pos++
				gotA++
				if l[0] == ' ' {
					out = append(out, body...)
					gotB++
				}
			case '+':
				out = append(out, body...)
				gotB++
			default:
				return nil, fmt.Errorf("bad line %q", l)
			}
		}
		if gotA != aCount || gotB != bCount {
			return nil, fmt.Errorf("hunk counts %d,%d, header says %d,%d", gotA, gotB, aCount, bCount)
		}
	}
	return append(out, bytes.Join(src[pos:], nil)...), nil
}

func TestUnifiedFormat(t *testing.T) {
	for _, c := range []struct {
		name, a, b, want string
		context          int
	}{
		{"equal", "x\n", "x\n", "", 3},
		{"add to empty", "", "a\nb\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n", 3},
		{"delete all", "a\n", "", "--- a\n+++ b\n@@ -1 +0,0 @@\n-a\n", 3},
		{"no final newline", "a\nb", "a\nc", "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n", 3},
		{"newline added", "a", "a\n", "--- a\n+++ b\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n", 3},
		{"crlf kept", "a\r\nb\r\n", "a\r\nc\r\n", "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\r\n", 3},
		{"insert with no context", "a\nb\n", "a\nx\nb\n", "--- a\n+++ b\n@@ -1,0 +2 @@\n+x\n", 0},
		{"joined hunks", "1\n2\n3\n4\n5\n", "1\nX\n3\nY\n5\n", "--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n-4\n+Y\n 5\n", 1},
		{"separate hunks", "1\n2\n3\n4\n5\n6\n", "X\n2\n3\n4\n5\nY\n", "--- a\n+++ b\n@@ -1,2 +1,2 @@\n-1\n+X\n 2\n@@ -5,2 +5,2 @@\n 5\n-6\n+Y\n", 1},
	} {
		got := Unified([]byte(c.a), []byte(c.b), "a", "b", c.context)
		if string(got) != c.want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, got, c.want)
		}
		applied, err := applyUnified([]byte(c.a), got)
		if err != nil || string(applied) != c.b {
			t.Errorf("%s: applying the diff gives %q, %v; want %q", c.name, applied, err, c.b)
		}
	}
}

var funcContext = regexp.MustCompile(`(?m)^(@@ [^@]* @@).*$`)

// TestUnifiedMatchesGitDiff compares the hunks with git diff --no-index
// --no-indent-heuristic on generated edits of real files (git's headers
// and its function-name context after "@@" are left out).
func TestUnifiedMatchesGitDiff(t *testing.T) {
	needGit(t)
	files := genCorpus(7)
	dir := t.TempDir()
	same := 0
	const n = 40
	for i := range n {
		c := genCase(files, 7, i)
		context := i % 5
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		os.WriteFile(a, c.base, 0o644)
		os.WriteFile(b, c.ours, 0o644)
		cmd := exec.Command("git", "diff", "--no-index", "--no-indent-heuristic", "--no-color", "--no-ext-diff",
			fmt.Sprintf("-U%d", context), "a", "b")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
		gitOut, _ := cmd.Output()
		if k := bytes.Index(gitOut, []byte("\n@@ ")); k >= 0 {
			gitOut = funcContext.ReplaceAll(gitOut[k+1:], []byte("$1"))
		} else {
			gitOut = nil
		}
		ours := Unified(c.base, c.ours, "a", "b", context)
		if k := bytes.Index(ours, []byte("\n@@ ")); k >= 0 {
			ours = ours[k+1:]
		}
		if bytes.Equal(gitOut, ours) {
			same++
		} else {
			t.Errorf("case %s, context %d: differs from git diff\n--- git\n%s\n--- folio\n%s", c.name, context, gitOut, ours)
		}
	}
	t.Logf("%d/%d identical to git diff", same, n)
}
