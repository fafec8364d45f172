package merge

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
	"golang.org/x/sync/errgroup"
)

// Head is one side of a merge: a commit, its maps and its commit time
// (the hybrid logical clock, never the author date).
type Head struct {
	Commit     objects.ID
	Index      objects.ID
	Conflicts  objects.ID
	CommitTime time.Time
}

// HeadOf reads a commit as a merge side.
func HeadOf(ctx context.Context, r CommitReader, id objects.ID) (Head, error) {
	c, err := r.ReadCommit(ctx, id)
	if err != nil {
		return Head{}, err
	}
	return headOf(id, c), nil
}

func headOf(id objects.ID, c *objects.Commit) Head {
	return Head{Commit: id, Index: c.Index, Conflicts: c.Conflicts, CommitTime: c.CommitTime}
}

// Winner is the side whose versions stand in conflicts: the head with the
// later commit time, ties broken by the larger commit ID. The author date
// plays no part: anyone can set it. Swapping the sides swaps the answer,
// so both leaders of a merge agree on which commit wins.
func Winner(ours, theirs Head) objects.Side {
	switch {
	case ours.CommitTime.After(theirs.CommitTime):
		return objects.SideOurs
	case theirs.CommitTime.After(ours.CommitTime):
		return objects.SideTheirs
	case ours.Commit.Compare(theirs.Commit) > 0:
		return objects.SideOurs
	}
	return objects.SideTheirs
}

// Conflicted is one document whose merge conflicted.
type Conflicted struct {
	Key    string       `json:"key"`
	Paths  []string     `json:"paths"`
	Winner objects.Side `json:"winner"`
	Record objects.ID   `json:"record"`
}

// Outcome is a merged index and conflicts map.
type Outcome struct {
	Index      objects.ID
	Conflicts  objects.ID
	Conflicted []Conflicted // conflicts of this merge, by key
}

// Indexes merges the maps of two heads against a base's (a zero base is
// the empty map: unrelated histories). It starts from ours and applies what
// theirs changed, merging documents both sides changed, so the work grows
// with the changed documents only. New documents and conflict records are
// stored; the caller makes the commit.
func Indexes(ctx context.Context, r *repo.Repo, base, ours, theirs Head) (*Outcome, error) {
	winner := Winner(ours, theirs)
	oursChanges, theirsChanges, err := bothChanges(ctx, r.Tree(), base.Index, ours.Index, theirs.Index)
	if err != nil {
		return nil, err
	}
	out := &Outcome{}
	var edits, records []prolly.Edit
	w := &writer{store: r.Store()}
	err = joinChanges(oursChanges, theirsChanges, func(key string, o, t *prolly.Change) error {
		switch {
		case t == nil:
			return nil // ours alone changed it: ours already has it
		case o == nil:
			edits = append(edits, setOrDelete(key, t.To))
			return nil
		case o.To == t.To:
			return nil // the same change on both sides
		}
		merged, conflict, err := mergeEntry(ctx, r, w, o.From, o.To, t.To, winner)
		if err != nil {
			return err
		}
		if merged != o.To {
			edits = append(edits, setOrDelete(key, merged))
		}
		if conflict != nil {
			replaces, err := recordsFor(ctx, r.Tree(), key, ours.Conflicts, theirs.Conflicts)
			if err != nil {
				return err
			}
			rec := &objects.Conflict{Key: key, Base: o.From, Ours: o.To, Theirs: t.To,
				OursCommit: ours.Commit, TheirsCommit: theirs.Commit, Winner: winner, Paths: conflict.Paths,
				Replaces: replaces}
			obj := rec.Encode()
			if err := w.add(ctx, obj); err != nil {
				return err
			}
			records = append(records, prolly.Edit{Key: key, Entry: objects.Entry{ID: obj.ID, Kind: objects.KindConflict, Size: uint64(len(obj.Data))}})
			out.Conflicted = append(out.Conflicted, Conflicted{Key: key, Paths: conflict.Paths, Winner: winner, Record: obj.ID})
		}
		return nil
	})
	if err == nil {
		err = w.flush(ctx) // documents and records before the nodes that name them
	}
	if err != nil {
		return nil, err
	}
	if out.Index, err = r.Tree().Edit(ctx, ours.Index, edits); err != nil {
		return nil, err
	}
	if out.Conflicts, err = mergeConflictMaps(ctx, r, base, ours, theirs, winner, records); err != nil {
		return nil, err
	}
	return out, nil
}

func setOrDelete(key string, e objects.Entry) prolly.Edit {
	if e.ID.IsZero() {
		return prolly.Edit{Key: key, Delete: true}
	}
	return prolly.Edit{Key: key, Entry: e}
}

// changes lists the differences between two maps.
func changes(ctx context.Context, t *prolly.Tree, from, to objects.ID) ([]prolly.Change, error) {
	var out []prolly.Change
	err := t.Diff(ctx, from, to, "", func(c prolly.Change) error {
		out = append(out, c)
		return nil
	})
	return out, err
}

// bothChanges diffs the base with each side at once: the two walks read
// the same base nodes at about the same time, so the node cache serves the
// second, and they use two cores.
func bothChanges(ctx context.Context, t *prolly.Tree, base, ours, theirs objects.ID) (o, th []prolly.Change, err error) {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { o, err = changes(gctx, t, base, ours); return err })
	g.Go(func() (err error) { th, err = changes(gctx, t, base, theirs); return err })
	err = g.Wait()
	return o, th, err
}

// joinChanges walks two sorted change lists by key, calling fn with the
// change of each side (nil where that side did not change the key).
func joinChanges(a, b []prolly.Change, fn func(key string, a, b *prolly.Change) error) error {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var err error
		switch {
		case j == len(b) || (i < len(a) && a[i].Key < b[j].Key):
			err = fn(a[i].Key, &a[i], nil)
			i++
		case i == len(a) || b[j].Key < a[i].Key:
			err = fn(b[j].Key, nil, &b[j])
			j++
		default:
			err = fn(a[i].Key, &a[i], &b[j])
			i++
			j++
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// writer batches the objects a merge makes into few Puts: the store syncs
// every Put, and a merge may make thousands of documents.
type writer struct {
	store   objects.ObjectWriter
	pending []objects.Object
	size    int
}

const writerBatchBytes = 4 << 20

func (w *writer) add(ctx context.Context, obj objects.Object) error {
	w.pending = append(w.pending, obj)
	w.size += len(obj.Data)
	if w.size >= writerBatchBytes {
		return w.flush(ctx)
	}
	return nil
}

func (w *writer) flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	err := w.store.Put(ctx, w.pending...)
	w.pending, w.size = nil, 0
	return err
}

// mergeEntry merges one document that both sides changed differently and
// stores the merged version. conflict is nil when it merged cleanly.
func mergeEntry(ctx context.Context, r *repo.Repo, w *writer, base, ours, theirs objects.Entry, winner objects.Side) (objects.Entry, *DocResult, error) {
	if base.Size > MaxMergeSize || ours.Size > MaxMergeSize || theirs.Size > MaxMergeSize {
		if isText(base, ours, theirs) {
			merged, paths, err := mergeLargeText(ctx, r, base, ours, theirs, winner, MaxMergeSize)
			if err != nil || len(paths) == 0 {
				return merged, nil, err
			}
			return merged, &DocResult{Paths: paths}, nil
		}
		// Binary, or deleted on one side: the winner's version stands whole.
		chosen := ours
		if winner == objects.SideTheirs {
			chosen = theirs
		}
		return chosen, &DocResult{Paths: []string{wholeDocument}}, nil
	}
	docs := make([]*Doc, 3)
	for i, e := range []objects.Entry{base, ours, theirs} {
		if e.ID.IsZero() {
			continue
		}
		content, err := r.ReadDocument(ctx, e)
		if err != nil {
			return objects.Entry{}, nil, err
		}
		docs[i] = &Doc{Content: content, Kind: e.Kind}
	}
	res := Document(docs[0], docs[1], docs[2], winner)
	var merged objects.Entry
	if !res.Deleted {
		obj, entry, small := repo.EncodeSmallDocument(res.Content)
		var err error
		if small {
			merged, err = entry, w.add(ctx, obj)
		} else {
			merged, err = r.WriteDocumentBytes(ctx, res.Content)
		}
		if err != nil {
			return objects.Entry{}, nil, err
		}
	}
	if !res.Conflicted() {
		return merged, nil, nil
	}
	return merged, &res, nil
}

// isText reports whether a document merged by content is text (or JSON,
// which is text too) on every side it exists on, and exists on both ours
// and theirs.
func isText(base, ours, theirs objects.Entry) bool {
	if ours.ID.IsZero() || theirs.ID.IsZero() {
		return false
	}
	for _, e := range []objects.Entry{base, ours, theirs} {
		if !e.ID.IsZero() && e.Kind != objects.KindText && e.Kind != objects.KindJSON {
			return false
		}
	}
	return true
}

// recordsFor lists the conflict records the maps hold for a key, sorted:
// a new record for the key replaces them and keeps them reachable.
func recordsFor(ctx context.Context, t *prolly.Tree, key string, maps ...objects.ID) ([]objects.ID, error) {
	var out []objects.ID
	for _, m := range maps {
		e, ok, err := t.Get(ctx, m, key)
		if err != nil {
			return nil, err
		}
		if ok && !slices.Contains(out, e.ID) {
			out = append(out, e.ID)
		}
	}
	slices.SortFunc(out, objects.ID.Compare)
	return out, nil
}

// mergeConflictMaps carries the conflict records of both heads into the
// merge, three-way like documents: a record resolved on one side and
// untouched on the other is resolved; a record one side changed and the
// other did not is taken. Records are compared by what they record (key,
// base and the pair of sides), not by ID, since the same conflict merged in
// the other direction has its sides swapped. When both sides hold
// different records, the winner's stands and lists the loser's in
// Replaces, so no losing version drops out. This merge's new records go
// on top.
func mergeConflictMaps(ctx context.Context, r *repo.Repo, base, ours, theirs Head, winner objects.Side, records []prolly.Edit) (objects.ID, error) {
	t := r.Tree()
	oursChanges, err := conflictChanges(ctx, r, base.Conflicts, ours.Conflicts)
	if err != nil {
		return objects.ID{}, err
	}
	theirsChanges, err := conflictChanges(ctx, r, base.Conflicts, theirs.Conflicts)
	if err != nil {
		return objects.ID{}, err
	}
	var edits []prolly.Edit
	err = joinChanges(oursChanges, theirsChanges, func(key string, o, th *prolly.Change) error {
		switch {
		case th == nil || (o != nil && o.To == th.To):
			return nil // ours has it already
		case o == nil:
			edits = append(edits, setOrDelete(key, th.To))
			return nil
		}
		kept, lost := o.To, th.To
		if winner == objects.SideTheirs {
			kept, lost = th.To, o.To
		}
		if kept.ID.IsZero() || lost.ID.IsZero() {
			edits = append(edits, setOrDelete(key, kept)) // a resolution wins or loses whole
			return nil
		}
		merged, err := keepReplaced(ctx, r, kept, lost)
		if err != nil {
			return err
		}
		edits = append(edits, setOrDelete(key, merged))
		return nil
	})
	if err != nil {
		return objects.ID{}, err
	}
	edits = overlay(edits, records)
	return t.Edit(ctx, ours.Conflicts, edits)
}

// conflictChanges diffs two conflicts maps, leaving out records that
// changed ID but record the same conflict.
func conflictChanges(ctx context.Context, r *repo.Repo, from, to objects.ID) ([]prolly.Change, error) {
	all, err := changes(ctx, r.Tree(), from, to)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, c := range all {
		if !c.From.ID.IsZero() && !c.To.ID.IsZero() {
			same, err := sameConflict(ctx, r, c.From.ID, c.To.ID)
			if err != nil {
				return nil, err
			}
			if same {
				continue
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func readRecord(ctx context.Context, r *repo.Repo, id objects.ID) (*objects.Conflict, error) {
	data, err := r.Store().Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return objects.DecodeConflict(data)
}

// sameConflict reports whether two records record the same conflict: the
// same document, base and pair of sides, in either order.
func sameConflict(ctx context.Context, r *repo.Repo, a, b objects.ID) (bool, error) {
	ra, err := readRecord(ctx, r, a)
	if err != nil {
		return false, err
	}
	rb, err := readRecord(ctx, r, b)
	if err != nil {
		return false, err
	}
	sides := func(c *objects.Conflict) [2]objects.ID {
		if c.Ours.ID.Compare(c.Theirs.ID) <= 0 {
			return [2]objects.ID{c.Ours.ID, c.Theirs.ID}
		}
		return [2]objects.ID{c.Theirs.ID, c.Ours.ID}
	}
	return ra.Key == rb.Key && ra.Base == rb.Base && sides(ra) == sides(rb), nil
}

// keepReplaced stores a copy of the kept record that also replaces the
// lost one.
func keepReplaced(ctx context.Context, r *repo.Repo, kept, lost objects.Entry) (objects.Entry, error) {
	rec, err := readRecord(ctx, r, kept.ID)
	if err != nil {
		return objects.Entry{}, err
	}
	if slices.Contains(rec.Replaces, lost.ID) {
		return kept, nil
	}
	rec.Replaces = append(rec.Replaces, lost.ID)
	slices.SortFunc(rec.Replaces, objects.ID.Compare)
	if len(rec.Replaces) > objects.MaxReplaces {
		rec.Replaces = rec.Replaces[len(rec.Replaces)-objects.MaxReplaces:]
	}
	obj := rec.Encode()
	if err := r.Store().Put(ctx, obj); err != nil {
		return objects.Entry{}, err
	}
	return objects.Entry{ID: obj.ID, Kind: objects.KindConflict, Size: uint64(len(obj.Data))}, nil
}

// overlay merges two sorted edit lists; b wins on equal keys.
func overlay(a, b []prolly.Edit) []prolly.Edit {
	out := make([]prolly.Edit, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && strings.Compare(a[i].Key, b[j].Key) < 0):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Key < a[i].Key:
			out = append(out, b[j])
			j++
		default:
			out = append(out, b[j])
			i++
			j++
		}
	}
	return out
}
