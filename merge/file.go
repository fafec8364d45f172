package merge

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/folio-db/folio/merge/jsonmerge"
	"github.com/folio-db/folio/merge/text"
	"github.com/folio-db/folio/objects"
)

// JSONExtensions are the file name extensions that File merges as JSON
// when a caller chooses by path (see IsJSONPath).
var JSONExtensions = []string{".json", ".geojson", ".jsonld", ".webmanifest"}

// IsJSONPath reports whether a file's name ends in one of JSONExtensions,
// in any case. Git's merge drivers see the real path as %P; the content is
// never looked at, so a .txt file holding JSON is still merged by lines.
func IsJSONPath(name string) bool {
	return slices.Contains(JSONExtensions, strings.ToLower(filepath.Ext(name)))
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
// is clean it can be wrong, and where it conflicts it shows more.)
func File(base, ours, theirs []byte, opts FileOptions) FileResult {
	if opts.JSON {
		if res, ok := jsonFile(base, ours, theirs, opts); ok {
			return res
		}
	}
	res := text.Merge(base, ours, theirs)
	if opts.Resolve == objects.SideOurs || opts.Resolve == objects.SideTheirs {
		return FileResult{Content: res.Resolve(opts.Resolve)}
	}
	return FileResult{Content: res.Markers(opts.Markers), Conflicts: res.MarkerConflicts(opts.Markers.Style)}
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
