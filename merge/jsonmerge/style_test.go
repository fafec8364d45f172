package jsonmerge

import "testing"

func TestDetectStyle(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      style
		known     [3]bool // layout, colon, comma
	}{
		{"compact", `{"a":1,"b":[1,2]}`, style{colon: ":"}, [3]bool{true, true, true}},
		{"one line", `{"a": 1, "b": [1, 2]}`, style{colon: ": ", comma: " "}, [3]bool{true, true, true}},
		{"2 spaces", "{\n  \"a\": {\n    \"b\": 1\n  }\n}", style{newline: "\n", indent: "  ", colon: ": ", comma: " "}, [3]bool{true, true, false}},
		{"4 spaces, found deep", "[[\n        1\n    ]]", style{newline: "\n", indent: "    ", colon: ":"}, [3]bool{true, false, false}},
		{"tabs", "{\n\t\"a\": [1, 2]\n}", style{newline: "\n", indent: "\t", colon: ": ", comma: " "}, [3]bool{true, true, true}},
		{"crlf", "[\r\n  1,\r\n  2\r\n]", style{newline: "\r\n", indent: "  ", colon: ":"}, [3]bool{true, false, false}},
		{"uneven indentation", "{\"a\": {\n   \"b\": 1}}", style{newline: "\n", indent: "   ", colon: ": ", comma: " "}, [3]bool{true, true, false}},
		{"newline without indentation", "[\n1\n]", style{newline: "\n", colon: ":"}, [3]bool{true, false, false}},
		{"colon with a space before", `{"a" : 1}`, style{colon: " : ", comma: " "}, [3]bool{true, true, false}},
		{"no members", `{"a":{}}`, style{colon: ":"}, [3]bool{true, true, false}},
		{"nothing to see", `[]`, style{colon: ":"}, [3]bool{false, false, false}},
		{"scalar", `"x"`, style{colon: ":"}, [3]bool{false, false, false}},
	} {
		d, err := parse([]byte(tc.doc))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := d.style
		if got.style != tc.want || [3]bool{got.layoutKnown, got.colonKnown, got.commaKnown} != tc.known {
			t.Errorf("%s: %+v, want %+v known %v", tc.name, got, tc.want, tc.known)
		}
	}
}

// What ours does not show comes from theirs, then from the default.
func TestCombineStyles(t *testing.T) {
	ours, _ := parse([]byte(`[1]`))
	theirs, _ := parse([]byte("{\n  \"a\": 1\n}"))
	got := combineStyles(ours.style, theirs.style)
	if want := (style{colon: ": ", comma: " "}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	none, _ := parse([]byte(`[]`))
	if got := combineStyles(none.style, theirs.style); got != theirs.style.style {
		t.Errorf("got %+v, want theirs' %+v", got, theirs.style.style)
	}
}
