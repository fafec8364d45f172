package merge

import (
	"bytes"
	"context"
	"io"

	"github.com/folio-db/folio/merge/sequence"
	"github.com/folio-db/folio/merge/text"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// Text documents larger than MaxMergeSize are merged without being held
// whole. Large documents are stored as content-defined chunks, and a
// content-defined chunker cuts at the same places again soon after an
// edit, so the three versions share every chunk outside the stretches
// that changed. mergeLargeText diffs the three chunk lists (diff3 over
// chunk IDs): a stretch changed on one side only is that side's chunks, as
// they are; a stretch both sides changed is read and merged line by line
// (merge/text), when its three versions together are at most limit bytes.
// A stretch both sides changed that is larger than that is not merged: the
// winner's version of that stretch stands, and the conflict names its
// lines, so the other side's edit is in the conflict record and reported,
// never dropped silently. Edits elsewhere in the document merge as usual.
//
// Memory stays within one chunk plus one changed stretch (at most limit
// bytes and what merging it takes), whatever the document's size: the
// merged document streams into WriteDocument, which chunks it again.

// mergeLargeText merges three versions of a large text document (a zero
// base entry: none) and stores the result. It returns the merged entry and
// the conflict paths (lines of the base), empty when it merged cleanly.
func mergeLargeText(ctx context.Context, r *repo.Repo, base, ours, theirs objects.Entry, winner objects.Side, limit uint64) (objects.Entry, []string, error) {
	l := &largeText{ctx: ctx, r: r, winner: winner, limit: limit}
	tokens := map[objects.ID]uint64{}
	var seqs [3][]uint64
	for i, e := range []objects.Entry{base, ours, theirs} {
		chunks, err := r.Chunks(ctx, e)
		if err != nil {
			return objects.Entry{}, nil, err
		}
		l.sides[i] = chunks
		for _, ch := range chunks {
			tok, ok := tokens[ch.ID]
			if !ok {
				tok = uint64(len(tokens))
				tokens[ch.ID] = tok
			}
			seqs[i] = append(seqs[i], tok)
		}
	}
	l.regions = sequence.Merge(seqs[0], seqs[1], seqs[2], sequence.Touching)
	merged, err := r.WriteDocument(ctx, l)
	if err != nil {
		return objects.Entry{}, nil, err
	}
	return merged, l.paths, nil
}

// largeText is the merged document as a reader: it emits the regions of
// the chunk-level merge in order, reading chunks only as they are needed.
type largeText struct {
	ctx     context.Context
	r       *repo.Repo
	winner  objects.Side
	limit   uint64
	sides   [3][]objects.ChunkRef // base, ours, theirs
	regions []sequence.Region
	next    int                // the next region to emit
	queue   []objects.ChunkRef // chunks of the current region still to emit
	isBase  bool               // the queued chunks are the base's: count their lines
	buf     []byte             // bytes ready to be read
	lines   int                // lines of the base before the current region
	paths   []string
}

func (l *largeText) Read(p []byte) (int, error) {
	for len(l.buf) == 0 {
		if err := l.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}

// fill makes the next bytes ready: the next queued chunk, or the next
// region. io.EOF after the last region.
func (l *largeText) fill() error {
	if len(l.queue) > 0 {
		data, err := l.r.ReadChunk(l.ctx, l.queue[0])
		if err != nil {
			return err
		}
		l.queue = l.queue[1:]
		if l.isBase {
			l.lines += bytes.Count(data, newline)
		}
		l.buf = data
		return nil
	}
	if l.next == len(l.regions) {
		return io.EOF
	}
	reg := l.regions[l.next]
	l.next++
	base := l.sides[0][reg.Base.Lo:reg.Base.Hi]
	ours := l.sides[1][reg.Ours.Lo:reg.Ours.Hi]
	theirs := l.sides[2][reg.Theirs.Lo:reg.Theirs.Hi]
	if reg.Kind == sequence.Stable {
		l.queue, l.isBase = base, true
		return nil
	}
	if reg.Kind == sequence.Conflict && chunkBytes(base, ours, theirs) <= l.limit {
		return l.mergeStretch(base, ours, theirs)
	}
	start := l.lines
	endsInLine, err := l.countLines(base)
	if err != nil {
		return err
	}
	l.queue, l.isBase = ours, false
	switch {
	case reg.Kind == sequence.TheirsOnly, reg.Kind == sequence.Conflict && l.winner == objects.SideTheirs:
		l.queue = theirs
	}
	if reg.Kind == sequence.Conflict {
		end := l.lines
		if endsInLine {
			end++ // the stretch ends inside a line: that line is in it
		}
		l.addPaths(text.LineRange{Start: start, End: end}.Describe())
	}
	return nil
}

// mergeStretch merges a stretch both sides changed, line by line.
func (l *largeText) mergeStretch(base, ours, theirs []objects.ChunkRef) error {
	var content [3][]byte
	for i, chunks := range [][]objects.ChunkRef{base, ours, theirs} {
		var buf bytes.Buffer
		for _, ch := range chunks {
			data, err := l.r.ReadChunk(l.ctx, ch)
			if err != nil {
				return err
			}
			buf.Write(data)
		}
		content[i] = buf.Bytes()
	}
	res := text.Merge(content[0], content[1], content[2])
	l.addPaths(res.ConflictPathsAt(l.lines)...)
	l.lines += bytes.Count(content[0], newline)
	l.buf = res.Resolve(l.winner)
	return nil
}

// countLines adds the lines of base chunks to l.lines, and reports
// whether they end inside a line (not after a newline).
func (l *largeText) countLines(chunks []objects.ChunkRef) (endsInLine bool, err error) {
	for _, ch := range chunks {
		data, err := l.r.ReadChunk(l.ctx, ch)
		if err != nil {
			return false, err
		}
		l.lines += bytes.Count(data, newline)
		endsInLine = data[len(data)-1] != '\n'
	}
	return endsInLine, nil
}

func (l *largeText) addPaths(paths ...string) {
	l.paths = append(l.paths, paths[:min(len(paths), maxPaths-len(l.paths))]...)
}

var newline = []byte{'\n'}

func chunkBytes(lists ...[]objects.ChunkRef) uint64 {
	var n uint64
	for _, list := range lists {
		for _, ch := range list {
			n += ch.Size
		}
	}
	return n
}
