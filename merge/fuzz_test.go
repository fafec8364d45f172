package merge

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/folio-db/folio/merge/jsonmerge"
	"github.com/folio-db/folio/objects"
	"github.com/rogpeppe/go-internal/txtar"
)

// Kind modes of FuzzDocument: how the three sides get their kinds.
const (
	kindsDetected = iota // as the repository would detect them
	kindsText            // all text
	kindsJSON            // all JSON, even content that is not
	kindsBinary          // all binary
	kindModes
)

// Absent bits of FuzzDocument: which sides are missing.
const (
	absentBase = 1 << iota
	absentOurs
	absentTheirs
)

// maxFuzzDoc keeps fuzz inputs small enough that a run tries many.
const maxFuzzDoc = 4 << 10

// FuzzDocument checks that Document never panics and keeps its identities
// on any input, for every kind: merge(b, x, b) = x, merge(b, b, y) = y and
// merge(b, x, x) = x, all clean; a merge is deterministic; a clean merge
// does not depend on the winner; and swapping the sides along with the
// winner (the same head commit wins) gives the same document (the same
// JSON value: key order follows ours) with the same conflicts, unless
// both sides inserted into a JSON array at one place (ours go first).
func FuzzDocument(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, base, ours, theirs []byte, mode, absent uint8) {
		if len(base) > maxFuzzDoc || len(ours) > maxFuzzDoc || len(theirs) > maxFuzzDoc {
			t.Skip()
		}
		mk := func(content []byte, bit uint8) *Doc {
			if absent&bit != 0 {
				return nil
			}
			return &Doc{Content: content, Kind: fuzzKind(content, mode)}
		}
		b, x, y := mk(base, absentBase), mk(ours, absentOurs), mk(theirs, absentTheirs)
		for _, w := range []objects.Side{objects.SideOurs, objects.SideTheirs} {
			res := Document(b, x, y, w)
			if again := Document(b, x, y, w); !equalResult(res, again) {
				t.Fatalf("%s wins: two merges of the same inputs differ: %q and %q", w, res.Content, again.Content)
			}
			if res.Deleted && len(res.Content) > 0 {
				t.Fatalf("%s wins: a deleted result with content %q", w, res.Content)
			}
			if slices.Contains(res.Paths, "") && len(res.Paths) != 1 {
				t.Fatalf("%s wins: a whole-document conflict among others: %q", w, res.Paths)
			}
			if !res.Conflicted() {
				if other := Document(b, x, y, otherSide(w)); !equalResult(res, other) {
					t.Fatalf("a clean merge depends on the winner: %q (%s) and %q (%s)", res.Content, w, other.Content, otherSide(w))
				}
			}
			swapped := Document(b, y, x, otherSide(w))
			if !sameResult(res, swapped, mergedAsJSON(b, x, y)) && !keepsBothInsertions(b, x, y) {
				t.Fatalf("%s wins: swapping the sides gives %q %q, not %q %q", w, swapped.Content, swapped.Paths, res.Content, res.Paths)
			}
			checkIdentity(t, "merge(b, x, b)", Document(b, x, b, w), x)
			checkIdentity(t, "merge(b, b, y)", Document(b, b, y, w), y)
			checkIdentity(t, "merge(b, x, x)", Document(b, x, x, w), x)
		}
	})
}

// keepsBothInsertions reports whether Document merges these sides as
// JSON where both inserted different elements at one place in an array.
func keepsBothInsertions(base, ours, theirs *Doc) bool {
	if !mergedAsJSON(base, ours, theirs) {
		return false
	}
	var b []byte
	if base != nil {
		b = base.Content
	}
	res, err := jsonmerge.Merge(b, ours.Content, theirs.Content, objects.SideOurs)
	return err == nil && len(res.Unions) > 0
}

func fuzzKind(content []byte, mode uint8) objects.Kind {
	switch mode % kindModes {
	case kindsText:
		return objects.KindText
	case kindsJSON:
		return objects.KindJSON
	case kindsBinary:
		return objects.KindBinary
	}
	return objects.DetectKind(content)
}

// checkIdentity checks a merge that must give want exactly, cleanly.
func checkIdentity(t *testing.T, what string, got DocResult, want *Doc) {
	t.Helper()
	switch {
	case got.Conflicted():
		t.Fatalf("%s conflicted at %q", what, got.Paths)
	case want == nil && !got.Deleted:
		t.Fatalf("%s = %q, want deleted", what, got.Content)
	case want != nil && (got.Deleted || !bytes.Equal(got.Content, want.Content)):
		t.Fatalf("%s = %q (deleted %v), want %q", what, got.Content, got.Deleted, want.Content)
	}
}

func equalResult(a, b DocResult) bool {
	return a.Deleted == b.Deleted && bytes.Equal(a.Content, b.Content) && slices.Equal(a.Paths, b.Paths)
}

// addFuzzSeeds seeds the fuzzer with the text and JSON merge cases of
// testdata/merge and a few of each kind.
func addFuzzSeeds(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("A\nb\nc\n"), []byte("a\nb\nC\n"), uint8(kindsDetected), uint8(0))
	f.Add([]byte("a\nb\nc\n"), []byte("a\nB\nc\n"), []byte("a\nX\nc\n"), uint8(kindsText), uint8(0))
	f.Add([]byte(`{"a":1,"b":2}`), []byte(`{"a":3,"b":2}`), []byte(`{"a":1,"b":4,"c":5}`), uint8(kindsDetected), uint8(0))
	f.Add([]byte(`{"a":1}`), []byte(`{"a":2}`), []byte(`{"a":3}`), uint8(kindsJSON), uint8(0))
	f.Add([]byte(`[1,2,3]`), []byte(`[0,1,2,3]`), []byte(`[1,2,3,4]`), uint8(kindsDetected), uint8(0))
	f.Add([]byte(""), []byte(`{"x":1}`), []byte(`{"y":2}`), uint8(kindsDetected), uint8(absentBase))
	f.Add([]byte("\x00b"), []byte("\x00o"), []byte("\x00t"), uint8(kindsBinary), uint8(0))
	f.Add([]byte("base\n"), []byte(""), []byte("theirs\n"), uint8(kindsDetected), uint8(absentOurs))
	f.Add([]byte("base\n"), []byte("ours\n"), []byte(""), uint8(kindsDetected), uint8(absentTheirs))
	f.Add([]byte("no newline"), []byte("no newline\r\n"), []byte("other"), uint8(kindsText), uint8(0))
	for _, dir := range []string{"text", "json"} {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", "merge", dir, "*.txtar"))
		for _, file := range files {
			a, err := txtar.ParseFile(file)
			if err != nil {
				f.Fatal(err)
			}
			sections := map[string][]byte{}
			for _, s := range a.Files {
				sections[s.Name] = s.Data
			}
			suffix := map[string]string{"text": "", "json": ".json"}[dir]
			b, okB := sections["base"+suffix]
			o, okO := sections["ours"+suffix]
			th, okT := sections["theirs"+suffix]
			var absent uint8
			if !okB {
				absent |= absentBase
			}
			if okO && okT {
				f.Add(b, o, th, uint8(kindsDetected), absent)
			}
		}
	}
}
