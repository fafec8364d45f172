package objects_test

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/objects.txtar from the current encoder")

// goldenPath is the shared golden file at the repository's top level.
var goldenPath = filepath.Join("..", "testdata", "golden", "objects.txtar")

const goldenComment = `Golden encodings of folio objects: format version 1 (commits: format 2,
which added the commit time; one format-3 commit, which adds a committer;
and one format-1 commit that must still decode), BLAKE3-256 IDs.

Each section is one object, built by objects/samples_test.go from fixed
inputs: a description, its ID, and its encoding in hex (32 bytes a line).
TestGolden fails if any encoding or ID changes, because that changes the
format: every stored object and every ID users have seen would be different.
Regenerate only for an intended format change (with a new format version):

	go test ./objects/ -run TestGolden -update
`

const hexPerLine = 32

// goldenFile is one "-- name --" section of a txtar archive.
type goldenFile struct {
	name string
	data string
}

// formatTxtar and parseTxtar read and write the txtar format (as in
// golang.org/x/tools/txtar), enough for the golden file: a comment, then
// sections that each start with a "-- name --" line.
func formatTxtar(comment string, files []goldenFile) []byte {
	var b strings.Builder
	b.WriteString(comment)
	for _, f := range files {
		fmt.Fprintf(&b, "-- %s --\n%s", f.name, f.data)
	}
	return []byte(b.String())
}

func parseTxtar(data []byte) []goldenFile {
	var files []goldenFile
	for line := range strings.Lines(string(data)) {
		if name, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "-- "); ok && strings.HasSuffix(name, " --") {
			files = append(files, goldenFile{name: strings.TrimSpace(strings.TrimSuffix(name, " --"))})
			continue
		}
		if len(files) > 0 {
			files[len(files)-1].data += line
		}
	}
	return files
}

// goldenFiles renders the samples as the sections of the golden file.
func goldenFiles(t *testing.T) []goldenFile {
	t.Helper()
	var files []goldenFile
	for _, s := range samples() {
		obj := encodeValue(t, s.value)
		var b strings.Builder
		fmt.Fprintf(&b, "# %s\n", s.desc)
		fmt.Fprintf(&b, "type %s, %d bytes\n", objects.Type(obj.Data[0]), len(obj.Data))
		fmt.Fprintf(&b, "id %s\n", obj.ID)
		for data := obj.Data; len(data) > 0; {
			n := min(hexPerLine, len(data))
			fmt.Fprintf(&b, "%x\n", data[:n])
			data = data[n:]
		}
		files = append(files, goldenFile{name: s.name, data: b.String()})
	}
	return files
}

func TestGolden(t *testing.T) {
	want := formatTxtar(goldenComment, goldenFiles(t))
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", goldenPath)
		return
	}
	have, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if bytes.Equal(have, want) {
		return
	}
	// Say which objects changed, not only that the file differs.
	haveFiles := map[string]string{}
	for _, f := range parseTxtar(have) {
		haveFiles[f.name] = f.data
	}
	for _, f := range goldenFiles(t) {
		got, ok := haveFiles[f.name]
		switch {
		case !ok:
			t.Errorf("%s: missing from %s", f.name, goldenPath)
		case got != f.data:
			t.Errorf("%s: the encoding changed\n--- golden\n%s--- now\n%s", f.name, got, f.data)
		}
		delete(haveFiles, f.name)
	}
	for name := range haveFiles {
		t.Errorf("%s: in %s but no longer a sample", name, goldenPath)
	}
	t.Errorf("%s differs from the current encoder; if the format change is intended, bump the format version and run with -update", goldenPath)
}

// The golden file is self-consistent: each hex encoding hashes to the ID
// written above it and decodes as a canonical object of the stated type.
// This checks the file itself, so a hand edit cannot slip through.
func TestGoldenFileDecodes(t *testing.T) {
	have, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	files := parseTxtar(have)
	if len(files) < len(samples()) {
		t.Fatalf("%s has %d objects, want at least %d", goldenPath, len(files), len(samples()))
	}
	for _, f := range files {
		var id objects.ID
		var typ string
		var data []byte
		for line := range strings.Lines(f.data) {
			line = strings.TrimSuffix(line, "\n")
			switch {
			case strings.HasPrefix(line, "#"):
			case strings.HasPrefix(line, "type "):
				typ, _, _ = strings.Cut(strings.TrimPrefix(line, "type "), ",")
			case strings.HasPrefix(line, "id "):
				if id, err = objects.ParseID(strings.TrimPrefix(line, "id ")); err != nil {
					t.Fatalf("%s: %v", f.name, err)
				}
			default:
				b, err := hex.DecodeString(line)
				if err != nil {
					t.Fatalf("%s: %v", f.name, err)
				}
				data = append(data, b...)
			}
		}
		if err := objects.Verify(id, data); err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		if got := objects.Type(data[0]).String(); got != typ || !strings.HasPrefix(f.name, typ+"/") {
			t.Errorf("%s: decodes as a %s, the file says %s", f.name, got, typ)
		}
	}
}
