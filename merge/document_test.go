package merge

import (
	"bytes"
	"encoding/json"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

// doc makes one side of a document merge with the kind the repository
// would give its content.
func doc(content string) *Doc {
	return &Doc{Content: []byte(content), Kind: objects.DetectKind([]byte(content))}
}

func binary(content string) *Doc {
	return &Doc{Content: []byte(content), Kind: objects.KindBinary}
}

// deleted is an absent side (a nil *Doc), named for the tables.
var deleted *Doc

// docWant is the expected outcome of a document merge for one winner:
// content (ignored when gone), whether the merge removes the document, and
// the conflict paths (nil: clean).
type docWant struct {
	content string
	gone    bool
	paths   []string
}

// The rows follow DESIGN.md's merge table. Each row gives the outcome when
// ours wins and when theirs wins; where they are the same the merge is
// clean or the conflict is of a side's whole document.
var documentCases = []struct {
	name               string
	base, ours, theirs *Doc
	oursWins           docWant
	theirsWins         docWant
}{
	{
		name: "only ours changed",
		base: doc("a\nb\n"), ours: doc("a\nB\n"), theirs: doc("a\nb\n"),
		oursWins:   docWant{content: "a\nB\n"},
		theirsWins: docWant{content: "a\nB\n"},
	},
	{
		name: "only theirs changed",
		base: doc("a\nb\n"), ours: doc("a\nb\n"), theirs: doc("A\nb\n"),
		oursWins:   docWant{content: "A\nb\n"},
		theirsWins: docWant{content: "A\nb\n"},
	},
	{
		name: "both made the same change",
		base: doc("a\nb\n"), ours: doc("a\nsame\n"), theirs: doc("a\nsame\n"),
		oursWins:   docWant{content: "a\nsame\n"},
		theirsWins: docWant{content: "a\nsame\n"},
	},
	{
		name: "text, both changed, apart",
		base: doc("1\n2\n3\n4\n5\n"), ours: doc("one\n2\n3\n4\n5\n"), theirs: doc("1\n2\n3\n4\nfive\n"),
		oursWins:   docWant{content: "one\n2\n3\n4\nfive\n"},
		theirsWins: docWant{content: "one\n2\n3\n4\nfive\n"},
	},
	{
		// The loser's clean change (line 1 or line 5) is kept; line 3
		// takes the winner's version.
		name: "text, both changed the same line",
		base: doc("1\n2\n3\n4\n5\n"), ours: doc("one\n2\nthree\n4\n5\n"), theirs: doc("1\n2\nTHREE\n4\nfive\n"),
		oursWins:   docWant{content: "one\n2\nthree\n4\nfive\n", paths: []string{"line 3"}},
		theirsWins: docWant{content: "one\n2\nTHREE\n4\nfive\n", paths: []string{"line 3"}},
	},
	{
		// Changes to adjacent lines touch: git merge-file conflicts.
		name: "text, touching changes",
		base: doc("1\n2\n3\n4\n"), ours: doc("1\ntwo\n3\n4\n"), theirs: doc("1\n2\nthree\n4\n"),
		oursWins:   docWant{content: "1\ntwo\n3\n4\n", paths: []string{"lines 2-3"}},
		theirsWins: docWant{content: "1\n2\nthree\n4\n", paths: []string{"lines 2-3"}},
	},
	{
		name: "text, two conflicts",
		base: doc("1\n2\n3\n4\n5\n6\n7\n"), ours: doc("o1\n2\n3\n4\n5\n6\no7\n"), theirs: doc("t1\n2\n3\n4\n5\n6\nt7\n"),
		oursWins:   docWant{content: "o1\n2\n3\n4\n5\n6\no7\n", paths: []string{"line 1", "line 7"}},
		theirsWins: docWant{content: "t1\n2\n3\n4\n5\n6\nt7\n", paths: []string{"line 1", "line 7"}},
	},
	{
		name:       "JSON, both changed different fields",
		base:       doc(`{"name": "folio", "version": "1.0", "stars": 1}`),
		ours:       doc(`{"name": "folio", "version": "1.1", "stars": 1}`),
		theirs:     doc(`{"name": "folio", "version": "1.0", "stars": 2}`),
		oursWins:   docWant{content: `{"name": "folio", "version": "1.1", "stars": 2}`},
		theirsWins: docWant{content: `{"name": "folio", "version": "1.1", "stars": 2}`},
	},
	{
		// The winner's value stands at /version; the loser's change of
		// /stars is kept either way.
		name:       "JSON, both changed the same field",
		base:       doc(`{"name": "folio", "version": "1.0", "stars": 1}`),
		ours:       doc(`{"name": "folio", "version": "1.1", "stars": 1}`),
		theirs:     doc(`{"name": "folio", "version": "2.0", "stars": 2}`),
		oursWins:   docWant{content: `{"name": "folio", "version": "1.1", "stars": 2}`, paths: []string{"/version"}},
		theirsWins: docWant{content: `{"name": "folio", "version": "2.0", "stars": 2}`, paths: []string{"/version"}},
	},
	{
		// Paths are RFC 6901 pointers: "/" and "~" in keys are escaped.
		name:       "JSON, conflict paths are pointers",
		base:       doc(`{"a/b": {"c~d": 1}, "list": [1, 2]}`),
		ours:       doc(`{"a/b": {"c~d": 2}, "list": [1, 20]}`),
		theirs:     doc(`{"a/b": {"c~d": 3}, "list": [1, 30]}`),
		oursWins:   docWant{content: `{"a/b": {"c~d": 2}, "list": [1, 20]}`, paths: []string{"/a~1b/c~0d", "/list/1"}},
		theirsWins: docWant{content: `{"a/b": {"c~d": 3}, "list": [1, 30]}`, paths: []string{"/a~1b/c~0d", "/list/1"}},
	},
	{
		name:       "JSON, field deleted on one side and changed on the other",
		base:       doc(`{"a": 1, "b": 2}`),
		ours:       doc(`{"a": 1}`),
		theirs:     doc(`{"a": 1, "b": 3}`),
		oursWins:   docWant{content: `{"a": 1}`, paths: []string{"/b"}},
		theirsWins: docWant{content: `{"a": 1, "b": 3}`, paths: []string{"/b"}},
	},
	{
		name: "binary, both changed",
		base: binary("\x00base"), ours: binary("\x00ours"), theirs: binary("\x00theirs"),
		oursWins:   docWant{content: "\x00ours", paths: []string{""}},
		theirsWins: docWant{content: "\x00theirs", paths: []string{""}},
	},
	{
		name: "binary, only theirs changed",
		base: binary("\x00base"), ours: binary("\x00base"), theirs: binary("\x00theirs"),
		oursWins:   docWant{content: "\x00theirs"},
		theirsWins: docWant{content: "\x00theirs"},
	},
	{
		name: "binary, only ours changed",
		base: binary("\x00base"), ours: binary("\x00ours"), theirs: binary("\x00base"),
		oursWins:   docWant{content: "\x00ours"},
		theirsWins: docWant{content: "\x00ours"},
	},
	{
		name: "binary, both made the same change",
		base: binary("\x00base"), ours: binary("\x00new"), theirs: binary("\x00new"),
		oursWins:   docWant{content: "\x00new"},
		theirsWins: docWant{content: "\x00new"},
	},
	{
		// A text document that became binary on one side cannot be
		// merged line by line.
		name: "binary on one side, text on the other",
		base: doc("a\n"), ours: binary("\x00ours"), theirs: doc("b\n"),
		oursWins:   docWant{content: "\x00ours", paths: []string{""}},
		theirsWins: docWant{content: "b\n", paths: []string{""}},
	},
	{
		name: "add/add, same text",
		base: deleted, ours: doc("new\n"), theirs: doc("new\n"),
		oursWins:   docWant{content: "new\n"},
		theirsWins: docWant{content: "new\n"},
	},
	{
		// Against an empty base the common lines match: only the
		// differing line conflicts.
		name: "add/add, different text",
		base: deleted, ours: doc("head\nours\ntail\n"), theirs: doc("head\ntheirs\ntail\n"),
		oursWins:   docWant{content: "head\nours\ntail\n", paths: []string{"at start"}},
		theirsWins: docWant{content: "head\ntheirs\ntail\n", paths: []string{"at start"}},
	},
	{
		name:       "add/add, JSON objects with disjoint keys",
		base:       deleted,
		ours:       doc(`{"a": 1, "shared": true}`),
		theirs:     doc(`{"b": 2, "shared": true}`),
		oursWins:   docWant{content: `{"a": 1, "b": 2, "shared": true}`},
		theirsWins: docWant{content: `{"a": 1, "b": 2, "shared": true}`},
	},
	{
		name:       "add/add, JSON objects with the same key",
		base:       deleted,
		ours:       doc(`{"a": 1, "k": "o"}`),
		theirs:     doc(`{"b": 2, "k": "t"}`),
		oursWins:   docWant{content: `{"a": 1, "b": 2, "k": "o"}`, paths: []string{"/k"}},
		theirsWins: docWant{content: `{"a": 1, "b": 2, "k": "t"}`, paths: []string{"/k"}},
	},
	{
		name: "add/add, binary",
		base: deleted, ours: binary("\x00o"), theirs: binary("\x00t"),
		oursWins:   docWant{content: "\x00o", paths: []string{""}},
		theirsWins: docWant{content: "\x00t", paths: []string{""}},
	},
	{
		name: "delete/modify",
		base: doc("a\n"), ours: deleted, theirs: doc("b\n"),
		oursWins:   docWant{gone: true, paths: []string{""}},
		theirsWins: docWant{content: "b\n", paths: []string{""}},
	},
	{
		name: "modify/delete",
		base: doc("a\n"), ours: doc("b\n"), theirs: deleted,
		oursWins:   docWant{content: "b\n", paths: []string{""}},
		theirsWins: docWant{gone: true, paths: []string{""}},
	},
	{
		name:       "delete/modify, JSON",
		base:       doc(`{"a": 1}`),
		ours:       doc(`{"a": 2}`),
		theirs:     deleted,
		oursWins:   docWant{content: `{"a": 2}`, paths: []string{""}},
		theirsWins: docWant{gone: true, paths: []string{""}},
	},
	{
		name: "delete/modify, binary",
		base: binary("\x00a"), ours: deleted, theirs: binary("\x00b"),
		oursWins:   docWant{gone: true, paths: []string{""}},
		theirsWins: docWant{content: "\x00b", paths: []string{""}},
	},
	{
		name: "delete/delete",
		base: doc("a\n"), ours: deleted, theirs: deleted,
		oursWins:   docWant{gone: true},
		theirsWins: docWant{gone: true},
	},
	{
		name: "delete/unchanged",
		base: doc("a\n"), ours: deleted, theirs: doc("a\n"),
		oursWins:   docWant{gone: true},
		theirsWins: docWant{gone: true},
	},
	{
		name: "unchanged/delete",
		base: doc("a\n"), ours: doc("a\n"), theirs: deleted,
		oursWins:   docWant{gone: true},
		theirsWins: docWant{gone: true},
	},
	{
		name: "add on one side only",
		base: deleted, ours: deleted, theirs: doc("new\n"),
		oursWins:   docWant{content: "new\n"},
		theirsWins: docWant{content: "new\n"},
	},
	{
		// Theirs made the JSON document invalid: it merges as text.
		name:       "JSON that stopped being JSON merges as text",
		base:       doc("{\n  \"a\": 1,\n  \"b\": 2\n}\n"),
		ours:       doc("{\n  \"a\": 10,\n  \"b\": 2\n}\n"),
		theirs:     doc("{\n  \"a\": 1,\n  \"b\": 2\n}\n# note\n"),
		oursWins:   docWant{content: "{\n  \"a\": 10,\n  \"b\": 2\n}\n# note\n"},
		theirsWins: docWant{content: "{\n  \"a\": 10,\n  \"b\": 2\n}\n# note\n"},
	},
	{
		// The repository detects JSON after a byte order mark as text;
		// the merge still reads it as JSON, and keeps the mark.
		name:       "JSON with a byte order mark merges as JSON",
		base:       doc("\uFEFF{\n  \"a\": 1,\n  \"b\": 1\n}\n"),
		ours:       doc("\uFEFF{\n  \"a\": 2,\n  \"b\": 1\n}\n"),
		theirs:     doc("\uFEFF{\n  \"a\": 1,\n  \"b\": 2\n}\n"),
		oursWins:   docWant{content: "\uFEFF{\n  \"a\": 2,\n  \"b\": 2\n}\n"},
		theirsWins: docWant{content: "\uFEFF{\n  \"a\": 2,\n  \"b\": 2\n}\n"},
	},
	{
		// Both append to one list: both entries kept, ours first.
		name:       "JSON arrays appended on both sides",
		base:       doc(`{"l": [1]}`),
		ours:       doc(`{"l": [1, 2]}`),
		theirs:     doc(`{"l": [1, 3]}`),
		oursWins:   docWant{content: `{"l": [1, 2, 3]}`},
		theirsWins: docWant{content: `{"l": [1, 2, 3]}`},
	},
	{
		// The same content with a different kind is the same document.
		name:       "same content, different kinds",
		base:       doc("x\n"),
		ours:       &Doc{Content: []byte("y\n"), Kind: objects.KindText},
		theirs:     &Doc{Content: []byte("y\n"), Kind: objects.KindBinary},
		oursWins:   docWant{content: "y\n"},
		theirsWins: docWant{content: "y\n"},
	},
}

func TestDocument(t *testing.T) {
	for _, tc := range documentCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range []struct {
				side objects.Side
				want docWant
			}{{objects.SideOurs, tc.oursWins}, {objects.SideTheirs, tc.theirsWins}} {
				got := Document(tc.base, tc.ours, tc.theirs, w.side)
				checkDocResult(t, w.side.String()+" wins", got, w.want)
				// Swapping the sides and the winner gives the same
				// document (JSON: the same value; the key order is
				// ours'), with the same conflicts; unless both inserted
				// into an array at one place, where ours go first.
				swapped := Document(tc.base, tc.theirs, tc.ours, otherSide(w.side))
				if !sameResult(got, swapped, mergedAsJSON(tc.base, tc.ours, tc.theirs)) && !keepsBothInsertions(tc.base, tc.ours, tc.theirs) {
					t.Errorf("%s wins: sides swapped gives %q %q, not %q %q",
						w.side, swapped.Content, swapped.Paths, got.Content, got.Paths)
				}
			}
		})
	}
}

func otherSide(s objects.Side) objects.Side {
	if s == objects.SideOurs {
		return objects.SideTheirs
	}
	return objects.SideOurs
}

// sameResult reports whether two merges of the same document agree: the
// same paths, and the same content. Documents merged as JSON (asJSON) are
// compared as JSON values: the merge keeps ours' key order, layout and
// number spelling, so swapping the sides may change those.
func sameResult(a, b DocResult, asJSON bool) bool {
	if a.Deleted || b.Deleted {
		return a.Deleted == b.Deleted && slices.Equal(a.Paths, b.Paths)
	}
	return slices.Equal(a.Paths, b.Paths) && sameContent(a.Content, b.Content, asJSON)
}

// mergedAsJSON reports whether Document merges these sides as JSON.
func mergedAsJSON(base, ours, theirs *Doc) bool {
	isJSON := func(d *Doc) bool { return d != nil && mayBeJSON(d) }
	return isJSON(ours) && isJSON(theirs) && (base == nil || isJSON(base))
}

func sameContent(a, b []byte, asJSON bool) bool {
	if bytes.Equal(a, b) {
		return true
	}
	if !asJSON {
		return false
	}
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

// decodeJSON decodes a JSON value with numbers as exact rationals, since
// the merge compares numbers by value (1e2 = 100.0, -0 = 0) and keeps
// ours' spelling of one that did not change.
func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return exactNumbers(v), nil
}

// exactNumber is a JSON number as a rational, a type of its own so that it
// never equals a string.
type exactNumber string

func exactNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if r, ok := new(big.Rat).SetString(string(v)); ok {
			return exactNumber(r.RatString())
		}
	case []any:
		for i := range v {
			v[i] = exactNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = exactNumbers(v[k])
		}
	}
	return v
}

func checkDocResult(t *testing.T, what string, got DocResult, want docWant) {
	t.Helper()
	if got.Deleted != want.gone {
		t.Errorf("%s: Deleted = %v, want %v", what, got.Deleted, want.gone)
	}
	if !want.gone && !bytes.Equal(got.Content, []byte(want.content)) {
		t.Errorf("%s: content\n%q\nwant\n%q", what, got.Content, want.content)
	}
	if !slices.Equal(got.Paths, want.paths) {
		t.Errorf("%s: paths %q, want %q", what, got.Paths, want.paths)
	}
	if got.Conflicted() != (len(want.paths) > 0) {
		t.Errorf("%s: Conflicted() = %v with paths %q", what, got.Conflicted(), got.Paths)
	}
}

// TestDocumentTooLarge checks that documents over MaxMergeSize that both
// sides changed conflict whole instead of being merged by content.
func TestDocumentTooLarge(t *testing.T) {
	big := strings.Repeat("line\n", MaxMergeSize/5+1)
	base := doc(big)
	ours := doc("ours\n" + big)
	theirs := doc(big + "theirs\n") // would merge cleanly as text
	for _, w := range []objects.Side{objects.SideOurs, objects.SideTheirs} {
		got := Document(base, ours, theirs, w)
		want := ours
		if w == objects.SideTheirs {
			want = theirs
		}
		if !bytes.Equal(got.Content, want.Content) || !slices.Equal(got.Paths, []string{""}) {
			t.Errorf("%s wins: %d bytes, paths %q; want the winner's %d bytes and a whole-document conflict",
				w, len(got.Content), got.Paths, len(want.Content))
		}
	}
}
