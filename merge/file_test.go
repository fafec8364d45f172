package merge

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/folio-db/folio/merge/jsonmerge"
	"github.com/folio-db/folio/merge/text"
	"github.com/folio-db/folio/objects"
)

func TestIsJSONPath(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"a.json": true, "dir/b.JSON": true, "x.geojson": true, "site.webmanifest": true, "ctx.jsonld": true,
		"a.txt": false, "a.json.txt": false, "json": false, ".merge_file_Xy12ab": false, "a.md": false, "": false,
	} {
		if got := IsJSONPath(name); got != want {
			t.Errorf("IsJSONPath(%q) = %v, want %v", name, got, want)
		}
	}
}

var fileLabels = text.MarkerOptions{Labels: [3]string{"ours", "base", "theirs"}}

// TestFile merges small files the way merge-file does and checks the
// exact output and conflict count: a JSON merge that records a conflict
// is never clean, and draws markers around the conflicting values only.
func TestFile(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name               string
		base, ours, theirs string
		opts               FileOptions
		want               string
		conflicts          int
		json               bool
	}{{
		name: "JSON edits on adjacent lines merge cleanly",
		base: "{\n  \"a\": 1,\n  \"b\": 1\n}\n", ours: "{\n  \"a\": 2,\n  \"b\": 1\n}\n", theirs: "{\n  \"a\": 1,\n  \"b\": 2\n}\n",
		opts: FileOptions{JSON: true},
		want: "{\n  \"a\": 2,\n  \"b\": 2\n}\n", json: true,
	}, {
		name: "the same files by lines conflict",
		base: "{\n  \"a\": 1,\n  \"b\": 1\n}\n", ours: "{\n  \"a\": 2,\n  \"b\": 1\n}\n", theirs: "{\n  \"a\": 1,\n  \"b\": 2\n}\n",
		want:      "{\n<<<<<<< ours\n  \"a\": 2,\n  \"b\": 1\n=======\n  \"a\": 1,\n  \"b\": 2\n>>>>>>> theirs\n}\n",
		conflicts: 1,
	}, {
		name: "a key added on both sides at different lines: git's merge is clean and invalid",
		base: "{\n  \"a\": 1,\n  \"z\": 1\n}\n", ours: "{\n  \"a\": 1,\n  \"k\": 1,\n  \"z\": 1\n}\n", theirs: "{\n  \"a\": 1,\n  \"z\": 1,\n  \"k\": 2\n}\n",
		opts:      FileOptions{JSON: true},
		want:      "{\n  \"a\": 1,\n<<<<<<< ours\n  \"k\": 1,\n=======\n  \"k\": 2,\n>>>>>>> theirs\n  \"z\": 1\n}\n",
		conflicts: 1, json: true,
	}, {
		name: "delete against modify",
		base: "{\n  \"a\": 1,\n  \"k\": 1,\n  \"z\": 1\n}\n", ours: "{\n  \"a\": 1,\n  \"z\": 2\n}\n", theirs: "{\n  \"a\": 1,\n  \"k\": 5,\n  \"z\": 1\n}\n",
		opts:      FileOptions{JSON: true},
		want:      "{\n  \"a\": 1,\n<<<<<<< ours\n=======\n  \"k\": 5,\n>>>>>>> theirs\n  \"z\": 2\n}\n",
		conflicts: 1, json: true,
	}, {
		name: "delete against modify, settled for theirs",
		base: "{\n  \"a\": 1,\n  \"k\": 1,\n  \"z\": 1\n}\n", ours: "{\n  \"a\": 1,\n  \"z\": 2\n}\n", theirs: "{\n  \"a\": 1,\n  \"k\": 5,\n  \"z\": 1\n}\n",
		opts: FileOptions{JSON: true, Resolve: objects.SideTheirs},
		want: "{\n  \"a\": 1,\n  \"k\": 5,\n  \"z\": 2\n}\n", json: true,
	}, {
		name: "an array element deleted and edited, in diff3 style",
		base: "[\n  1,\n  2,\n  3\n]\n", ours: "[\n  1,\n  3\n]\n", theirs: "[\n  1,\n  20,\n  3,\n  4\n]\n",
		opts:      FileOptions{JSON: true, Markers: text.MarkerOptions{Style: text.StyleDiff3}},
		want:      "[\n  1,\n<<<<<<< ours\n||||||| base\n  2,\n=======\n  20,\n>>>>>>> theirs\n  3,\n  4\n]\n",
		conflicts: 1, json: true,
	}, {
		name: "not JSON: merged by lines even when asked for JSON",
		base: "a\nb\n", ours: "A\nb\n", theirs: "a\nB\n",
		opts: FileOptions{JSON: true},
		want: "<<<<<<< ours\nA\nb\n=======\na\nB\n>>>>>>> theirs\n", conflicts: 1,
	}} {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			opts.Markers.Labels = fileLabels.Labels
			got := File([]byte(c.base), []byte(c.ours), []byte(c.theirs), opts)
			if string(got.Content) != c.want || got.Conflicts != c.conflicts || got.JSON != c.json {
				t.Errorf("got %d conflicts (JSON %v):\n%s\nwant %d (JSON %v):\n%s", got.Conflicts, got.JSON, got.Content, c.conflicts, c.json, c.want)
			}
		})
	}
}

func TestStrictJSON(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		`{}`: true, `[]`: true, `{"a":1,"b":{"a":2}}`: true, `[{"a":1},{"a":1}]`: true, "\uFEFF{\"a\":[]}": true,
		`{"a":{},"b":[{}],"c":"a"}`: true, `"a"`: true,
		`{"a":1,"a":2}`: false, `{"a":{"b":1,"b":1}}`: false, `{"a":[],"a":[]}`: false, `{"a":1,}`: false, `{"a":1}{}`: false, ``: false,
	} {
		if got := strictJSON([]byte(in)); got != want {
			t.Errorf("strictJSON(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestFileTooDeepForStructure: JSON nested deeper than the structural
// merge takes is merged by lines; a clean line merge that repeats a key
// counts as a conflict, not as a clean JSON merge.
func TestFileTooDeepForStructure(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", jsonmerge.MaxDepth+1) + strings.Repeat("]", jsonmerge.MaxDepth+1)
	base := "{\n  \"a\": 1,\n  \"m\": 1,\n  \"deep\": " + deep + "\n}\n"
	ours := "{\n  \"k\": 1,\n  \"a\": 1,\n  \"m\": 1,\n  \"deep\": " + deep + "\n}\n"
	theirs := "{\n  \"a\": 1,\n  \"m\": 1,\n  \"k\": 2,\n  \"deep\": " + deep + "\n}\n"
	got := File([]byte(base), []byte(ours), []byte(theirs), FileOptions{JSON: true})
	if got.JSON || got.Conflicts != 1 || !bytes.Contains(got.Content, []byte(`"k": 2`)) {
		t.Errorf("got %d conflicts (JSON %v):\n%.80s", got.Conflicts, got.JSON, got.Content)
	}
	if lines := File([]byte(base), []byte(ours), []byte(theirs), FileOptions{}); lines.Conflicts != 0 {
		t.Errorf("by lines, without JSON: %d conflicts, want the line merge's 0", lines.Conflicts)
	}
}

// FuzzFile: File never comes out clean over a recorded JSON conflict,
// never calls invalid JSON a clean JSON merge, and settles conflicts for
// the side asked with valid JSON.
func FuzzFile(f *testing.F) {
	f.Add([]byte(`{"a":1,"z":1}`), []byte("{\"a\":1,\n\"k\":1,\"z\":1}"), []byte("{\"a\":1,\"z\":1,\n\"k\":2}"), uint8(0), uint8(0))
	f.Add([]byte("[1,\n2,\n3]"), []byte("[1,\n3]"), []byte("[1,\n20,\n3,\n4]"), uint8(1), uint8(0))
	f.Add([]byte(`{"a":[1]}`), []byte(`{"a":[1,2]}`), []byte(`{"a":[1,3]}`), uint8(2), uint8(1))
	f.Add([]byte("a\nb\n"), []byte("A\nb\n"), []byte("a\nB\n"), uint8(0), uint8(2))
	f.Fuzz(func(t *testing.T, base, ours, theirs []byte, style, resolve uint8) {
		if len(base) > maxFuzzDoc || len(ours) > maxFuzzDoc || len(theirs) > maxFuzzDoc {
			t.Skip()
		}
		opts := FileOptions{JSON: true, Resolve: objects.Side(resolve % 3), Markers: text.MarkerOptions{Style: text.Style(style % 3)}}
		got := File(base, ours, theirs, opts)
		if again := File(base, ours, theirs, opts); !bytes.Equal(got.Content, again.Content) || got.Conflicts != again.Conflicts {
			t.Fatal("two merges of the same files differ")
		}
		jr, err := jsonmerge.Merge(base, ours, theirs, objects.SideOurs)
		if got.JSON != (err == nil) {
			t.Fatalf("merged as JSON: %v, but jsonmerge says %v", got.JSON, err)
		}
		if !got.JSON {
			return
		}
		switch {
		case len(jr.Conflicts) == 0 || opts.Resolve != 0:
			if got.Conflicts != 0 || !json.Valid(bytes.TrimPrefix(got.Content, []byte("\uFEFF"))) {
				t.Fatalf("a clean or settled JSON merge with %d conflicts: %q", got.Conflicts, got.Content)
			}
		case got.Conflicts == 0 || !bytes.Contains(got.Content, []byte("<<<<<<<")):
			t.Fatalf("JSON conflicts %v drawn as %d conflicts: %q", jr.Conflicts, got.Conflicts, got.Content)
		}
	})
}

// FuzzStrictJSON: strictJSON accepts only valid JSON, and accepts what the
// structural merge reads (which also refuses repeated keys), except for
// keys whose escapes encoding/json decodes to the same text (lone
// surrogates) and nesting past the merge's limit.
func FuzzStrictJSON(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":{"a":2}}`, `{"a":1,"a":2}`, `[{},{"a":[{"b":1,"b":2}]}]`, "\uFEFF[]", `{"\ud800":1,"\udbff":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		strict := strictJSON(data)
		if strict && !json.Valid(bytes.TrimPrefix(data, byteOrderMark)) {
			t.Fatalf("strictJSON accepts invalid %q", data)
		}
		if len(data) == 0 {
			return // Diff reads nothing as an absent document
		}
		_, err := jsonmerge.Diff(data, data)
		if err == nil && !strict && !bytes.Contains(data, []byte(`\u`)) {
			t.Fatalf("strictJSON refuses %q, which the merge reads", data)
		}
		if err != nil && errors.Is(err, jsonmerge.ErrNotJSON) && strict && !bytes.Contains(data, []byte(`\u`)) {
			t.Fatalf("strictJSON accepts %q, which the merge refuses: %v", data, err)
		}
	})
}
