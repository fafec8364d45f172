package text

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/merge/text cases")

// Data-driven cases live in testdata/merge/text/*.txtar, one merge each:
//
//	the comment says what the case is about
//	-- base --, -- ours --, -- theirs --    the inputs
//	-- merged --      Markers output, merge style, labels ours/base/theirs
//	-- diff3 --       the same in diff3 style
//	-- conflicts --   the conflict count
//	-- paths --       ConflictPaths, one a line
//
// txtar cannot hold a carriage return at a line end or a file without a
// final newline, so in every section "␍" stands for "\r" and a last line
// "\ No newline at end of file" (as in a diff) means the line before it
// has no newline. go test -run Data -rewrite refreshes the expected
// sections. When git is on PATH each case is also checked against git
// merge-file, unless its comment explains a known difference with a line
// starting "git differs:".
const dataDir = "../../testdata/merge/text"

type dataCase struct {
	comment            string
	base, ours, theirs []byte
	merged, diff3      []byte
	conflicts          int
	paths              []string
}

const noNewline = "\\ No newline at end of file\n"

func encodeText(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r"), []byte("␍"))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
		b = append(b, noNewline...)
	}
	return b
}

func decodeText(b []byte) []byte {
	if bytes.HasSuffix(b, []byte("\n"+noNewline)) {
		b = b[:len(b)-len(noNewline)-1]
	} else if bytes.Equal(b, []byte(noNewline)) {
		b = nil
	}
	return bytes.ReplaceAll(b, []byte("␍"), []byte("\r"))
}

func parseDataCase(data []byte) (dataCase, error) {
	comment, files := parseArchive(data)
	c := dataCase{comment: comment, conflicts: -1}
	for _, f := range files {
		switch f.name {
		case "base":
			c.base = decodeText(f.data)
		case "ours":
			c.ours = decodeText(f.data)
		case "theirs":
			c.theirs = decodeText(f.data)
		case "merged":
			c.merged = decodeText(f.data)
		case "diff3":
			c.diff3 = decodeText(f.data)
		case "conflicts":
			n, err := strconv.Atoi(strings.TrimSpace(string(f.data)))
			if err != nil {
				return c, fmt.Errorf("conflicts: %w", err)
			}
			c.conflicts = n
		case "paths":
			if p := strings.TrimSuffix(string(f.data), "\n"); p != "" {
				c.paths = strings.Split(p, "\n")
			}
		default:
			return c, fmt.Errorf("unknown section %q", f.name)
		}
	}
	return c, nil
}

func (c dataCase) format() []byte {
	files := []archiveFile{
		{"base", encodeText(c.base)},
		{"ours", encodeText(c.ours)},
		{"theirs", encodeText(c.theirs)},
	}
	if c.conflicts >= 0 {
		paths := strings.Join(c.paths, "\n")
		if paths != "" {
			paths += "\n"
		}
		files = append(files,
			archiveFile{"merged", encodeText(c.merged)},
			archiveFile{"diff3", encodeText(c.diff3)},
			archiveFile{"conflicts", fmt.Appendf(nil, "%d\n", c.conflicts)},
			archiveFile{"paths", []byte(paths)},
		)
	}
	return formatArchive(c.comment, files)
}

// run merges the case and fills in what folio produces.
func (c dataCase) run() dataCase {
	r := Merge(c.base, c.ours, c.theirs)
	c.merged = r.Markers(MarkerOptions{Labels: gitLabels})
	c.diff3 = r.Markers(MarkerOptions{Style: StyleDiff3, Labels: gitLabels})
	c.conflicts = r.Conflicts
	c.paths = r.ConflictPaths()
	return c
}

func TestDataCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(dataDir, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no data cases in %s (%v)", dataDir, err)
	}
	for _, name := range files {
		t.Run(strings.TrimSuffix(filepath.Base(name), ".txtar"), func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			want, err := parseDataCase(data)
			if err != nil {
				t.Fatal(err)
			}
			got := want.run()
			if *rewrite {
				if err := os.WriteFile(name, got.format(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(got.format(), want.format()) {
				t.Errorf("output differs from %s (run with -rewrite to accept):\n--- got\n%s", name, got.format())
			}
			checkAgainstGit(t, got)
		})
	}
}

func checkAgainstGit(t *testing.T, c dataCase) {
	t.Helper()
	if strings.Contains(c.comment, "git differs:") {
		return
	}
	needGit(t)
	mc := mergeCase{base: c.base, ours: c.ours, theirs: c.theirs}
	out, status := gitMerge(t, t.TempDir(), mc)
	if !bytes.Equal(out, c.merged) || status != c.conflicts {
		t.Errorf("git merge-file differs (status %d, folio %d conflicts):\n%s", status, c.conflicts, out)
	}
	out, _ = gitMerge(t, t.TempDir(), mc, "--diff3")
	if !bytes.Equal(out, c.diff3) {
		t.Errorf("git merge-file --diff3 differs:\n%s", out)
	}
	out, _ = gitMerge(t, t.TempDir(), mc, "--zdiff3", "--marker-size=10")
	zdiff3 := Merge(c.base, c.ours, c.theirs).Markers(MarkerOptions{Style: StyleZDiff3, MarkerSize: 10, Labels: gitLabels})
	if !bytes.Equal(out, zdiff3) {
		t.Errorf("git merge-file --zdiff3 --marker-size=10 differs:\n%s\nfolio:\n%s", out, zdiff3)
	}
}

// archiveFile is one section of a txtar archive. (A small reader and
// writer of the format, to keep the test free of a module for it.)
type archiveFile struct {
	name string
	data []byte
}

func markerName(line []byte) (string, bool) {
	line = bytes.TrimRight(line, "\n")
	if !bytes.HasPrefix(line, []byte("-- ")) || !bytes.HasSuffix(line, []byte(" --")) || len(line) < 6 {
		return "", false
	}
	return string(line[3 : len(line)-3]), true
}

func parseArchive(data []byte) (string, []archiveFile) {
	var comment bytes.Buffer
	var files []archiveFile
	for _, line := range Lines(data) {
		if name, ok := markerName(line); ok {
			files = append(files, archiveFile{name: name})
			continue
		}
		if len(files) == 0 {
			comment.Write(line)
		} else {
			f := &files[len(files)-1]
			f.data = append(f.data, line...)
		}
	}
	return comment.String(), files
}

func formatArchive(comment string, files []archiveFile) []byte {
	var b bytes.Buffer
	b.WriteString(comment)
	if comment != "" && !strings.HasSuffix(comment, "\n") {
		b.WriteByte('\n')
	}
	for _, f := range files {
		fmt.Fprintf(&b, "-- %s --\n", f.name)
		b.Write(f.data)
		if len(f.data) > 0 && f.data[len(f.data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
