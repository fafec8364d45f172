package jsonmerge

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

// benchDocs returns a pretty-printed document of about 1 MiB (an array
// of records under "items") and two edits of it: ours changes a price
// near the start, theirs renames a record near the end and adds a key.
func benchDocs(tb testing.TB) (base, ours, theirs []byte) {
	var b strings.Builder
	b.WriteString("{\n  \"version\": 1,\n  \"items\": [\n")
	n := 0
	for i := 0; b.Len() < 1<<20; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `    {"id": %d, "name": "item %d", "price": %d.%02d, "tags": ["t%d", "t%d"], "stock": {"here": %d, "there": %d}}`,
			i, i, i%1000, i%100, i%7, i%11, i%13, i%17)
		n++
	}
	b.WriteString("\n  ]\n}\n")
	base = []byte(b.String())
	ours = bytes.Replace(base, []byte(`"id": 100, "name": "item 100", "price": 100.00`), []byte(`"id": 100, "name": "item 100", "price": 99.95`), 1)
	last := n - 10
	theirs = bytes.Replace(base, []byte(fmt.Sprintf(`"name": "item %d"`, last)), []byte(fmt.Sprintf(`"name": "renamed %d"`, last)), 1)
	theirs = bytes.Replace(theirs, []byte(`"version": 1,`), []byte(`"version": 1, "owner": "ops",`), 1)
	if bytes.Equal(ours, base) || bytes.Equal(theirs, base) {
		tb.Fatal("edits did not apply")
	}
	return base, ours, theirs
}

func BenchmarkMerge1MiB(b *testing.B) {
	base, ours, theirs := benchDocs(b)
	res, err := Merge(base, ours, theirs, objects.SideOurs)
	if err != nil || len(res.Conflicts) != 0 || !bytes.Contains(res.Merged, []byte("99.95")) || !bytes.Contains(res.Merged, []byte("renamed")) {
		b.Fatalf("bad merge: %v %v", err, res.Conflicts)
	}
	b.SetBytes(int64(len(base)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Merge(base, ours, theirs, objects.SideOurs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiff1MiB(b *testing.B) {
	base, ours, theirs := benchDocs(b)
	_ = ours
	changes, err := Diff(base, theirs)
	if err != nil || len(changes) != 2 {
		b.Fatalf("diff: %v %v", changes, err)
	}
	b.SetBytes(int64(len(base)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Diff(base, theirs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse1MiB is the share of both that goes to parsing and
// digesting one input.
func BenchmarkParse1MiB(b *testing.B) {
	base, _, _ := benchDocs(b)
	b.SetBytes(int64(len(base)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(base); err != nil {
			b.Fatal(err)
		}
	}
}
