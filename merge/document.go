package merge

import (
	"bytes"
	"errors"

	"github.com/folio-db/folio/merge/jsonmerge"
	"github.com/folio-db/folio/merge/text"
	"github.com/folio-db/folio/objects"
)

// MaxMergeSize is the largest document merged whole in memory. Larger text
// documents that both sides changed are merged stretch by stretch
// (mergeLargeText): a changed stretch up to MaxMergeSize is merged line by
// line, a larger one conflicts with the winner's version of the stretch
// standing. Larger binary documents conflict whole.
const MaxMergeSize = 32 << 20

// Doc is one side of a document merge; nil means absent (not yet created,
// or deleted).
type Doc struct {
	Content []byte
	Kind    objects.Kind
}

// DocResult is the merge of one document. Deleted means the merge removes
// it; otherwise Content is the merged document. Paths lists where it
// conflicted (empty when it merged cleanly): RFC 6901 pointers for JSON,
// line ranges for text, "" for the whole document.
type DocResult struct {
	Content []byte
	Deleted bool
	Paths   []string
}

// Conflicted reports whether the merge of the document conflicted.
func (r DocResult) Conflicted() bool { return len(r.Paths) > 0 }

// wholeDocument is the conflict path of a document that conflicts as a whole.
const wholeDocument = ""

// maxPaths bounds the conflict locations a record lists; the record keeps
// the three whole versions, so the first ones are enough to point a reader.
const maxPaths = 1000

// Document merges one document changed on both sides. It is pure.
func Document(base, ours, theirs *Doc, winner objects.Side) DocResult {
	switch {
	case sameDoc(ours, theirs):
		return take(ours)
	case sameDoc(base, theirs):
		return take(ours)
	case sameDoc(base, ours):
		return take(theirs)
	case ours == nil || theirs == nil:
		// Deleted on one side, changed on the other.
		return conflictWhole(ours, theirs, winner)
	}
	var baseContent []byte
	if base != nil {
		baseContent = base.Content
	}
	if tooLarge(base, ours, theirs) || isBinary(base) || ours.Kind == objects.KindBinary || theirs.Kind == objects.KindBinary {
		return conflictWhole(ours, theirs, winner)
	}
	if mayBeJSON(ours) && mayBeJSON(theirs) && (base == nil || mayBeJSON(base)) {
		res, err := jsonmerge.Merge(baseContent, ours.Content, theirs.Content, winner)
		if err == nil {
			out := DocResult{Content: res.Merged}
			for _, c := range res.Conflicts[:min(len(res.Conflicts), maxPaths)] {
				out.Paths = append(out.Paths, c.Path)
			}
			return out
		}
		if !errors.Is(err, jsonmerge.ErrNotJSON) && !errors.Is(err, jsonmerge.ErrTooDeep) && !errors.Is(err, jsonmerge.ErrTooLarge) {
			return conflictWhole(ours, theirs, winner)
		}
	}
	res := text.Merge(baseContent, ours.Content, theirs.Content)
	paths := res.ConflictPaths()
	return DocResult{Content: res.Resolve(winner), Paths: paths[:min(len(paths), maxPaths)]}
}

func sameDoc(a, b *Doc) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return bytes.Equal(a.Content, b.Content)
}

func take(d *Doc) DocResult {
	if d == nil {
		return DocResult{Deleted: true}
	}
	return DocResult{Content: d.Content}
}

func conflictWhole(ours, theirs *Doc, winner objects.Side) DocResult {
	res := take(ours)
	if winner == objects.SideTheirs {
		res = take(theirs)
	}
	res.Paths = []string{wholeDocument}
	return res
}

// byteOrderMark may start a JSON document; objects.DetectKind calls such
// a document text, but the JSON merge reads it (and keeps the mark).
var byteOrderMark = []byte("\uFEFF")

// mayBeJSON reports whether a document is merged as JSON first: it is
// JSON, or text after a byte order mark (if it is not JSON after all, the
// JSON merge says so and the text merge takes over).
func mayBeJSON(d *Doc) bool {
	return d.Kind == objects.KindJSON || (d.Kind == objects.KindText && bytes.HasPrefix(d.Content, byteOrderMark))
}

func isBinary(d *Doc) bool { return d != nil && d.Kind == objects.KindBinary }

func tooLarge(docs ...*Doc) bool {
	for _, d := range docs {
		if d != nil && len(d.Content) > MaxMergeSize {
			return true
		}
	}
	return false
}
