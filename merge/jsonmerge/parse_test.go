package jsonmerge

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/folio-db/folio/objects"
)

// TestParseAcceptsWhatEncodingJSONAccepts checks the grammar against
// encoding/json on edge cases (the fuzz target does the same on random
// input).
func TestParseAcceptsWhatEncodingJSONAccepts(t *testing.T) {
	for _, in := range []string{
		``, ` `, `1`, ` 1 `, `-`, `-0`, `-01`, `01`, `1.`, `.5`, `1.5`, `1e`, `1e+`, `1E5`, `1e-5`, `1.5E+10`, `0e0`,
		`-1.0e-0`, `+1`, `1 2`, `NaN`, `Infinity`,
		`true`, `tru`, `true1`, `nul`, `null`, `false`, `False`,
		`""`, `"\x"`, `"\u12"`, `"\u12G4"`, `"\u12aF"`, `"\/\b\f\n\r\t\"\\"`, "\"\t\"", "\"\x7f\"", "\"\x1f\"", `"abc`, `"`,
		`[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `[1,,2]`, `[`, `]`, `[[[]]]`, `[] []`, `[1]x`,
		`{}`, `{ }`, `{"a"}`, `{"a":}`, `{,}`, `{"a":1,}`, `{"a":1 "b":2}`, `{a:1}`, `{"a" 1}`, `{"a":1}}`, `{1:2}`,
		"{\"a\":1}\n", "\ufeff{}", "\ufeff\ufeff{}", " \ufeff{}", "{}\ufeff", "\t\r\n {} \t\r\n", "\v{}",
	} {
		_, err := parse([]byte(in))
		if want := validJSON([]byte(in)); (err == nil) != want {
			t.Errorf("parse(%q): err = %v, encoding/json says valid = %v", in, err, want)
		}
		if err != nil && !errors.Is(err, ErrNotJSON) {
			t.Errorf("parse(%q): %v is not ErrNotJSON", in, err)
		}
	}
}

func TestParseRejectsDuplicateKeys(t *testing.T) {
	for _, in := range []string{
		`{"a":1,"a":1}`,
		`{"a":1,"\u0061":2}`,
		`[{"x":{"k":1,"j":2,"k":3}}]`,
		`{"😀":1,"\ud83d\ude00":2}`,
		`{"\ud800":1,"\uD800":2}`,
	} {
		if _, err := parse([]byte(in)); !errors.Is(err, ErrNotJSON) || !strings.Contains(err.Error(), "duplicate key") {
			t.Errorf("parse(%q) = %v, want a duplicate key error", in, err)
		}
	}
	// Keys that only look alike are different keys.
	for _, in := range []string{`{"a":1,"A":2}`, `{"\ud800":1,"\udc00":2}`, `{"\ud800":1,"\ufffd":2}`, `{"a":1,"a ":2}`} {
		if _, err := parse([]byte(in)); err != nil {
			t.Errorf("parse(%q) = %v", in, err)
		}
	}
}

// Invalid UTF-8 is not JSON here, as objects.DetectKind does not call it
// JSON either: encoding/json would replace the bytes, and a merge must not
// change what it does not understand.
func TestParseRejectsInvalidUTF8(t *testing.T) {
	in := []byte("{\"a\":\"\xff\"}")
	if _, err := parse(in); !errors.Is(err, ErrNotJSON) {
		t.Errorf("parse(%q) = %v, want ErrNotJSON", in, err)
	}
}

func nested(open, closing string, n int) []byte {
	return []byte(strings.Repeat(open, n) + "1" + strings.Repeat(closing, n))
}

func TestDepthLimit(t *testing.T) {
	for _, tc := range []struct {
		name          string
		open, closing string
	}{
		{"arrays", "[", "]"},
		{"objects", `{"a":`, "}"},
		{"mixed", `[{"a":`, "}]"},
	} {
		levels := 1
		if tc.name == "mixed" {
			levels = 2
		}
		if _, err := parse(nested(tc.open, tc.closing, MaxDepth/levels)); err != nil {
			t.Errorf("%s: %d levels: %v", tc.name, MaxDepth, err)
		}
		if _, err := parse(nested(tc.open, tc.closing, MaxDepth/levels+1)); !errors.Is(err, ErrTooDeep) {
			t.Errorf("%s: %d levels: %v, want ErrTooDeep", tc.name, MaxDepth+levels, err)
		}
	}
}

// 100,000 nested arrays are an error from every entry point, not a stack
// overflow, closed or not.
func TestDeepNestingIsAnError(t *testing.T) {
	deep := nested("[", "]", 100_000)
	unclosed := []byte(strings.Repeat("[", 100_000))
	ok := []byte(`[1]`)
	for name, err := range map[string]error{
		"merge base":   mergeErr(deep, ok, ok),
		"merge ours":   mergeErr(ok, deep, ok),
		"merge theirs": mergeErr(ok, ok, unclosed),
		"diff a":       diffErr(deep, ok),
		"diff b":       diffErr(ok, unclosed),
	} {
		if !errors.Is(err, ErrTooDeep) {
			t.Errorf("%s: %v, want ErrTooDeep", name, err)
		}
	}
}

func mergeErr(b, o, th []byte) error {
	_, err := Merge(b, o, th, objects.SideOurs)
	return err
}

func diffErr(a, b []byte) error {
	_, err := Diff(a, b)
	return err
}

func TestSizeLimit(t *testing.T) {
	atLimit := []byte(`"` + strings.Repeat("a", MaxSize-2) + `"`)
	if _, err := parse(atLimit); err != nil {
		t.Errorf("%d bytes: %v", len(atLimit), err)
	}
	over := append(atLimit, ' ')
	if err := mergeErr(over, []byte(`1`), []byte(`2`)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("merge, %d bytes: %v, want ErrTooLarge", len(over), err)
	}
	if err := diffErr([]byte(`1`), over); !errors.Is(err, ErrTooLarge) {
		t.Errorf("diff, %d bytes: %v, want ErrTooLarge", len(over), err)
	}
}

// The parse keeps every value's exact text and layout.
func TestParseKeepsText(t *testing.T) {
	in := " {\"n\" :\t1.50e+3 , \"s\": \"caf\\u00e9\\n\", \"a\":[ 1,2 ] }\n"
	d, err := parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range d.nodes {
		got = append(got, d.text(int32(i)))
	}
	want := []string{in[1 : len(in)-1], `1.50e+3`, `"caf\u00e9\n"`, `[ 1,2 ]`, `1`, `2`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("texts %q, want %q", got, want)
	}
	kids := d.kids(0)
	if h := d.head(&kids[0]); h != "\"n\" :\t" {
		t.Errorf("head %q", h)
	}
	if p := d.prefix(&kids[1]); p != " " {
		t.Errorf("prefix %q", p)
	}
	if tail := d.tail(0); tail != " " {
		t.Errorf("tail %q", tail)
	}
	if k := kids[1].key; k != "s" {
		t.Errorf("key %q", k)
	}
	if !utf8.ValidString(d.src) {
		t.Error("source changed")
	}
}
