package jsonmerge

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expectations in testdata/merge/json")

const casesDir = "../../testdata/merge/json"

// noFinalNewline in a case's comment strips the final newline of every
// .json section, since txtar cannot store a file without one.
const noFinalNewline = "[no final newline]"

// TestCases runs the data-driven merge cases in testdata/merge/json. Each
// .txtar file holds a description (its comment) and the sections
//
//	base.json          the common ancestor (absent: the document is new on both sides)
//	ours.json          one side
//	theirs.json        the other side
//	ours-wins.json     expected merged document when ours wins
//	ours-wins.conflicts    expected conflict paths, one quoted pointer a line
//	theirs-wins.json   the same when theirs wins
//	theirs-wins.conflicts
//	error              expected error text instead, when the merge fails
//	ours.diff          expected Diff(base, ours), one change a line
//	theirs.diff        expected Diff(base, theirs)
//
// Every case also checks the merge identities and that merged documents
// are valid JSON. Run with -rewrite to regenerate the expectations; then
// read the diff before committing it.
func TestCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(casesDir, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in %s: %v", casesDir, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runCase(t, file)
		})
	}
}

func runCase(t *testing.T, file string) {
	a, err := readArchive(file)
	if err != nil {
		t.Fatal(err)
	}
	strip := strings.Contains(string(a.comment), noFinalNewline)
	sections := map[string][]byte{}
	for _, f := range a.files {
		data := f.data
		if strip && strings.HasSuffix(f.name, ".json") {
			data = bytes.TrimSuffix(data, []byte("\n"))
		}
		sections[f.name] = data
	}
	base, ours, theirs := sections["base.json"], sections["ours.json"], sections["theirs.json"]
	if ours == nil || theirs == nil {
		t.Fatal("a case needs ours.json and theirs.json")
	}

	got := map[string][]byte{}
	for _, w := range []objects.Side{objects.SideOurs, objects.SideTheirs} {
		res, err := Merge(base, ours, theirs, w)
		if err != nil {
			got["error"] = []byte(err.Error() + "\n")
			break
		}
		if !validJSON(res.Merged) {
			t.Errorf("%s wins: merged is not valid JSON:\n%s", w, res.Merged)
		}
		got[w.String()+"-wins.json"] = res.Merged
		got[w.String()+"-wins.conflicts"] = formatConflicts(res.Conflicts)
		checkIdentities(t, base, ours, theirs, w)
	}
	if got["error"] == nil {
		got["ours.diff"] = formatDiff(t, base, ours)
		got["theirs.diff"] = formatDiff(t, base, theirs)
	}

	if *rewrite {
		writeCase(t, file, a, strip, got)
		return
	}
	for name, want := range sections {
		if name == "base.json" || name == "ours.json" || name == "theirs.json" {
			continue
		}
		if g, ok := got[name]; !ok {
			t.Errorf("section %s is not produced any more", name)
		} else if !bytes.Equal(g, want) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", name, g, want)
		}
	}
	for name := range got {
		if _, ok := sections[name]; !ok {
			t.Errorf("section %s is missing (run with -rewrite)", name)
		}
	}
}

func writeCase(t *testing.T, file string, a *archive, strip bool, got map[string][]byte) {
	out := &archive{comment: a.comment}
	add := func(name string, data []byte) {
		if strip && strings.HasSuffix(name, ".json") {
			data = append(bytes.Clone(data), '\n')
		}
		out.files = append(out.files, archiveFile{name: name, data: data})
	}
	for _, f := range a.files {
		if f.name == "base.json" || f.name == "ours.json" || f.name == "theirs.json" {
			out.files = append(out.files, f)
		}
	}
	for _, name := range []string{"error", "ours-wins.json", "ours-wins.conflicts", "theirs-wins.json", "theirs-wins.conflicts", "ours.diff", "theirs.diff"} {
		if data, ok := got[name]; ok {
			add(name, data)
		}
	}
	if err := os.WriteFile(file, formatArchive(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

func formatConflicts(cs []Conflict) []byte {
	var b bytes.Buffer
	for _, c := range cs {
		fmt.Fprintf(&b, "%s base=%s ours=%s theirs=%s\n", strconv.Quote(c.Path), compactRaw(c.Base), compactRaw(c.Ours), compactRaw(c.Theirs))
	}
	return b.Bytes()
}

func formatDiff(t *testing.T, a, b []byte) []byte {
	t.Helper()
	changes, err := Diff(a, b)
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	var out bytes.Buffer
	for _, c := range changes {
		fmt.Fprintf(&out, "%s %s", c.Op, strconv.Quote(c.Path))
		if c.Old != nil {
			fmt.Fprintf(&out, " old=%s", compactRaw(c.Old))
		}
		if c.New != nil {
			fmt.Fprintf(&out, " new=%s", compactRaw(c.New))
		}
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// compactRaw shows a raw value on one line ("-" when absent).
func compactRaw(r json.RawMessage) string {
	if r == nil {
		return "-"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, r); err != nil {
		return "!" + err.Error()
	}
	return b.String()
}

// checkIdentities checks the byte-for-byte identities on the case's
// inputs: merging a side with itself or with base.
func checkIdentities(t *testing.T, base, ours, theirs []byte, w objects.Side) {
	t.Helper()
	for _, doc := range [][]byte{ours, theirs} {
		if res, err := Merge(base, doc, doc, w); err != nil || !bytes.Equal(res.Merged, doc) || len(res.Conflicts) != 0 {
			t.Errorf("ours == theirs must give ours: err=%v conflicts=%v merged=%q", err, res.Conflicts, res.Merged)
		}
	}
	if len(base) == 0 {
		return
	}
	if res, err := Merge(base, ours, base, w); err != nil || !bytes.Equal(res.Merged, ours) {
		t.Errorf("theirs == base must give ours: err=%v merged=%q", err, res.Merged)
	}
	if res, err := Merge(base, base, theirs, w); err != nil || !bytes.Equal(res.Merged, theirs) {
		t.Errorf("ours == base must give theirs: err=%v merged=%q", err, res.Merged)
	}
}
