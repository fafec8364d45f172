package merge

import (
	"context"
	"strings"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
)

// Head is one side of a merge: a commit and its maps.
type Head struct {
	Commit    objects.ID
	Index     objects.ID
	Conflicts objects.ID
	Time      time.Time
}

// HeadOf reads a commit as a merge side.
func HeadOf(ctx context.Context, r CommitReader, id objects.ID) (Head, error) {
	c, err := r.ReadCommit(ctx, id)
	if err != nil {
		return Head{}, err
	}
	return Head{Commit: id, Index: c.Index, Conflicts: c.Conflicts, Time: c.Time}, nil
}

// Winner is the side whose versions stand in conflicts: the newer head
// commit, ties broken by the larger commit ID. Swapping the sides swaps the
// answer, so both leaders of a merge agree on which commit wins.
func Winner(ours, theirs Head) objects.Side {
	switch {
	case ours.Time.After(theirs.Time):
		return objects.SideOurs
	case theirs.Time.After(ours.Time):
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
	oursChanges, err := changes(ctx, r.Tree(), base.Index, ours.Index)
	if err != nil {
		return nil, err
	}
	theirsChanges, err := changes(ctx, r.Tree(), base.Index, theirs.Index)
	if err != nil {
		return nil, err
	}
	out := &Outcome{}
	var edits, records []prolly.Edit
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
		merged, conflict, err := mergeEntry(ctx, r, key, o.From, o.To, t.To, winner)
		if err != nil {
			return err
		}
		if merged != o.To {
			edits = append(edits, setOrDelete(key, merged))
		}
		if conflict != nil {
			rec := &objects.Conflict{Key: key, Base: o.From, Ours: o.To, Theirs: t.To,
				OursCommit: ours.Commit, TheirsCommit: theirs.Commit, Winner: winner, Paths: conflict.Paths}
			obj := rec.Encode()
			if err := r.Store().Put(ctx, obj); err != nil {
				return err
			}
			records = append(records, prolly.Edit{Key: key, Entry: objects.Entry{ID: obj.ID, Kind: objects.KindConflict, Size: uint64(len(obj.Data))}})
			out.Conflicted = append(out.Conflicted, Conflicted{Key: key, Paths: conflict.Paths, Winner: winner, Record: obj.ID})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out.Index, err = r.Tree().Edit(ctx, ours.Index, edits); err != nil {
		return nil, err
	}
	if out.Conflicts, err = mergeConflictMaps(ctx, r.Tree(), base, ours, theirs, winner, records); err != nil {
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

// mergeEntry merges one document that both sides changed differently and
// stores the merged version. conflict is nil when it merged cleanly.
func mergeEntry(ctx context.Context, r *repo.Repo, key string, base, ours, theirs objects.Entry, winner objects.Side) (objects.Entry, *DocResult, error) {
	if base.Size > MaxMergeSize || ours.Size > MaxMergeSize || theirs.Size > MaxMergeSize {
		// Too large to merge by content: the winner's version stands whole.
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
		var err error
		if merged, err = r.WriteDocumentBytes(ctx, res.Content); err != nil {
			return objects.Entry{}, nil, err
		}
	}
	if !res.Conflicted() {
		return merged, nil, nil
	}
	return merged, &res, nil
}

// mergeConflictMaps carries the conflict records of both heads into the
// merge (three-way, like documents: a record resolved on one side and
// untouched on the other is resolved; the winner's record stands when both
// changed one), then adds this merge's new records.
func mergeConflictMaps(ctx context.Context, t *prolly.Tree, base, ours, theirs Head, winner objects.Side, records []prolly.Edit) (objects.ID, error) {
	oursChanges, err := changes(ctx, t, base.Conflicts, ours.Conflicts)
	if err != nil {
		return objects.ID{}, err
	}
	theirsChanges, err := changes(ctx, t, base.Conflicts, theirs.Conflicts)
	if err != nil {
		return objects.ID{}, err
	}
	var edits []prolly.Edit
	err = joinChanges(oursChanges, theirsChanges, func(key string, o, th *prolly.Change) error {
		switch {
		case th == nil || (o != nil && o.To == th.To):
		case o == nil || winner == objects.SideTheirs:
			edits = append(edits, setOrDelete(key, th.To))
		}
		return nil
	})
	if err != nil {
		return objects.ID{}, err
	}
	edits = overlay(edits, records)
	return t.Edit(ctx, ours.Conflicts, edits)
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
