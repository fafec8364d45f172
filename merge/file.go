package merge

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/folio-db/folio/merge/jsonmerge"
	"github.com/folio-db/folio/merge/text"
	"github.com/folio-db/folio/objects"
)

// IsJSONPath reports whether a file's name says it holds JSON: it ends
// in .json, .geojson, .jsonld or .webmanifest, in any case. Git's merge
// drivers see the real path as %P; the content is never looked at, so a
// .txt file holding JSON is still merged by lines.
func IsJSONPath(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".geojson", ".jsonld", ".webmanifest":
		return true
	}
	return false
}

// FileOptions say how File merges three versions of a file.
type FileOptions struct {
	// JSON merges by JSON structure; inputs that are not all JSON are
	// merged by lines instead.
	JSON bool
	// Resolve, when ours or theirs, settles every conflict for that side
	// (git merge-file --ours or --theirs) instead of drawing markers.
	Resolve objects.Side
	// Markers say how conflicts are drawn.
	Markers text.MarkerOptions
}

// FileResult is the merge of a file. Conflicts is the number of conflicts
// drawn with markers in Content (git merge-file's exit status, before its
// cap at 127): zero exactly when Content is a clean merge. A JSON merge
// that recorded a conflict is never clean: Content then has markers
// around the conflicting values, or is settled for FileOptions.Resolve.
type FileResult struct {
	Content   []byte
	Conflicts int
	// JSON is set when the file was merged by JSON structure.
	JSON bool
}

// File merges the changes from base to theirs into ours, as git
// merge-file does, by lines or (with opts.JSON) by JSON structure. It is
// pure.
//
// A JSON merge with conflicts is drawn as the structural result with
// markers around each conflicting value: the merged document is written
// three times, with base's, ours' and theirs' values at the conflicts, and
// those three versions are merged by lines, so markers land on the lines
// that hold conflicting values and every clean change is already merged
// outside them. (Git's own line merge of the inputs is not used: where it
// is clean it can be wrong, and where it conflicts it shows more.) JSON
// that the structural merge refuses (over its size or depth limits) is
// merged by lines; if that merge is clean but not JSON (or repeats a key)
// while the inputs were JSON, it counts as one conflict.
func File(base, ours, theirs []byte, opts FileOptions) FileResult {
	if opts.JSON {
		if res, ok := jsonFile(base, ours, theirs, opts); ok {
			return res
		}
	}
	res := text.Merge(base, ours, theirs)
	out := FileResult{Content: res.Markers(opts.Markers), Conflicts: res.MarkerConflicts(opts.Markers.Style)}
	if opts.Resolve == objects.SideOurs || opts.Resolve == objects.SideTheirs {
		out = FileResult{Content: res.Resolve(opts.Resolve)}
	}
	if opts.JSON && out.Conflicts == 0 && strictJSON(ours) && strictJSON(theirs) && (len(base) == 0 || strictJSON(base)) && !strictJSON(out.Content) {
		out.Conflicts = 1
	}
	return out
}

// strictJSON reports whether data is one JSON value in UTF-8 (after an
// optional byte order mark) whose objects repeat no key, read as a stream.
func strictJSON(data []byte) bool {
	data = bytes.TrimPrefix(data, byteOrderMark)
	if !utf8.Valid(data) || !json.Valid(data) {
		return false
	}
	type level struct {
		keys      map[string]bool // nil for an array
		expectKey bool
	}
	var open []level
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return errors.Is(err, io.EOF)
		}
		if key, ok := tok.(string); ok && len(open) > 0 && open[len(open)-1].expectKey {
			n := len(open)
			if open[n-1].keys[key] {
				return false
			}
			open[n-1].keys[key] = true
			open[n-1].expectKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			open = append(open, level{keys: map[string]bool{}, expectKey: true})
			continue
		case json.Delim('['):
			open = append(open, level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			open = open[:len(open)-1]
		}
		// A value ended: in an object, a key comes next.
		if n := len(open); n > 0 && open[n-1].keys != nil {
			open[n-1].expectKey = true
		}
	}
}

// jsonFile is File for JSON; ok is false when an input is not JSON (or
// breaks a limit) and must be merged by lines.
func jsonFile(base, ours, theirs []byte, opts FileOptions) (FileResult, bool) {
	res, v, err := jsonmerge.MergeVersions(base, ours, theirs)
	if err != nil {
		return FileResult{}, false
	}
	switch {
	case len(res.Conflicts) == 0:
		return FileResult{Content: res.Merged, JSON: true}, true
	case opts.Resolve == objects.SideOurs:
		return FileResult{Content: v.Ours, JSON: true}, true
	case opts.Resolve == objects.SideTheirs:
		return FileResult{Content: v.Theirs, JSON: true}, true
	}
	drawn := text.Merge(v.Base, v.Ours, v.Theirs)
	if drawn.MarkerConflicts(opts.Markers.Style) == 0 {
		// Not expected (the versions differ around each conflict), but a
		// recorded conflict must never come out clean: set the two
		// versions against each other.
		drawn = text.Merge(nil, v.Ours, v.Theirs)
	}
	return FileResult{Content: drawn.Markers(opts.Markers), Conflicts: max(drawn.MarkerConflicts(opts.Markers.Style), 1), JSON: true}, true
}
