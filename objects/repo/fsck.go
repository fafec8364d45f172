package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/folio-db/folio/objects"
)

// FsckReport is what Fsck found.
type FsckReport struct {
	Objects  int       `json:"objects"`
	Refs     int       `json:"refs"`
	Problems []Problem `json:"problems"`
}

// Problem is one damaged or missing object.
type Problem struct {
	ID      objects.ID `json:"id"`
	Ref     string     `json:"ref,omitempty"` // a ref from which it is reachable, for missing objects
	Message string     `json:"message"`
}

// OK reports a clean repository.
func (f *FsckReport) OK() bool { return len(f.Problems) == 0 }

// Fsck re-hashes and decodes every stored object, then checks that every
// ref's closure (commits, parents, maps, conflict records, documents,
// chunks) is fully stored.
func (r *Repo) Fsck(ctx context.Context) (*FsckReport, error) {
	rep := &FsckReport{Problems: []Problem{}}
	err := r.store.Objects(ctx, nil, func(id objects.ID, data []byte) error {
		rep.Objects++
		if err := objects.Verify(id, data); err != nil {
			rep.Problems = append(rep.Problems, Problem{ID: id, Message: err.Error()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	refs, err := r.store.Refs(ctx, "")
	if err != nil {
		return nil, err
	}
	rep.Refs = len(refs)
	c := &closure{r: r, seen: map[objects.ID]bool{}, entries: map[objects.ID]bool{},
		maps: map[objects.ID]bool{}, recordKeys: map[objects.ID]string{}}
	for _, ref := range refs {
		c.missing = nil
		if err := c.visitRef(ctx, ref); err != nil {
			return nil, err
		}
		for _, m := range c.missing {
			m.Ref = ref.Name
			rep.Problems = append(rep.Problems, m)
		}
	}
	return rep, nil
}

// closure walks everything reachable from refs, once per object and role:
// the same ID named as a document and as a commit is checked as both.
type closure struct {
	r          *Repo
	seen       map[objects.ID]bool   // commits
	entries    map[objects.ID]bool   // documents and conflict records
	maps       map[objects.ID]bool   // map nodes: true in a conflicts map
	recordKeys map[objects.ID]string // conflict records read, by the key they record
	missing    []Problem
}

func (c *closure) get(ctx context.Context, id objects.ID, what string) ([]byte, error) {
	data, err := c.r.store.Get(ctx, id)
	if errors.Is(err, objects.ErrNotFound) {
		c.missing = append(c.missing, Problem{ID: id, Message: "missing " + what})
		return nil, nil
	}
	return data, err
}

func (c *closure) visitRef(ctx context.Context, ref objects.Ref) error {
	data, err := c.get(ctx, ref.ID, "ref target")
	if err != nil || data == nil {
		return err
	}
	switch t, _ := objects.TypeOf(data); t {
	case objects.TypeCommit:
		return c.visitCommits(ctx, ref.ID)
	case objects.TypeWorkingSet:
		ws, err := objects.DecodeWorkingSet(data)
		if err != nil {
			return nil // reported by the object pass
		}
		for _, id := range []objects.ID{ws.Base, ws.MergeHead} {
			if !id.IsZero() {
				if err := c.visitCommits(ctx, id); err != nil {
					return err
				}
			}
		}
		return c.visitMaps(ctx, ws.Index, ws.Conflicts)
	}
	c.missing = append(c.missing, Problem{ID: ref.ID, Message: "ref points at neither a commit nor a working set"})
	return nil
}

func (c *closure) visitCommits(ctx context.Context, start objects.ID) error {
	stack := []objects.ID{start}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c.seen[id] {
			continue
		}
		c.seen[id] = true
		data, err := c.get(ctx, id, "commit")
		if err != nil {
			return err
		}
		if data == nil {
			continue
		}
		commit, err := objects.DecodeCommit(data)
		if err != nil {
			continue // reported by the object pass
		}
		if err := c.visitMaps(ctx, commit.Index, commit.Conflicts); err != nil {
			return err
		}
		stack = append(stack, commit.Parents...)
	}
	return nil
}

// visitMaps walks a commit's or working set's index and conflicts map.
func (c *closure) visitMaps(ctx context.Context, index, conflicts objects.ID) error {
	if err := c.visitMap(ctx, index, false); err != nil {
		return err
	}
	return c.visitMap(ctx, conflicts, true)
}

// visitMap walks one map, checking that it holds what its role allows:
// documents in an index, and in a conflicts map records filed under the
// key they record.
func (c *closure) visitMap(ctx context.Context, root objects.ID, conflicts bool) error {
	if root.IsZero() {
		return nil
	}
	if ok, err := c.r.store.Has(ctx, root); err != nil {
		return err
	} else if !ok {
		c.missing = append(c.missing, Problem{ID: root, Message: "missing map root"})
		return nil
	}
	role := map[bool]string{false: "index", true: "conflicts map"}
	err := c.r.tree.Walk(ctx, root, func(id objects.ID, n *objects.Node) (bool, error) {
		if was, ok := c.maps[id]; ok {
			if was != conflicts {
				c.missing = append(c.missing, Problem{ID: id, Message: fmt.Sprintf("a node of a %s is in a %s", role[was], role[conflicts])})
			}
			return false, nil
		}
		c.maps[id] = conflicts
		if n.Level > 0 {
			return true, nil
		}
		for _, it := range n.Items {
			if (it.Entry.Kind == objects.KindConflict) != conflicts {
				c.missing = append(c.missing, Problem{ID: id, Message: fmt.Sprintf("the %s holds a %s entry at %q", role[conflicts], it.Entry.Kind, it.Key)})
				continue
			}
			if err := c.visitEntry(ctx, it.Entry); err != nil {
				return false, err
			}
			if k, ok := c.recordKeys[it.Entry.ID]; ok && k != it.Key {
				c.missing = append(c.missing, Problem{ID: it.Entry.ID, Message: fmt.Sprintf("conflict record for %q filed under %q", k, it.Key)})
			}
		}
		return false, nil
	})
	switch {
	case errors.Is(err, objects.ErrNotFound):
		c.missing = append(c.missing, Problem{ID: root, Message: fmt.Sprintf("map incomplete: %v", err)})
	case errors.Is(err, objects.ErrCorrupt):
		// The walk stops at a broken node: report it, go on with the
		// next map.
		c.missing = append(c.missing, Problem{ID: root, Message: fmt.Sprintf("map damaged: %v", err)})
	case err != nil:
		return err
	}
	return nil
}

func (c *closure) visitEntry(ctx context.Context, e objects.Entry) error {
	if c.entries[e.ID] {
		return nil
	}
	c.entries[e.ID] = true
	data, err := c.get(ctx, e.ID, e.Kind.String()+" document")
	if err != nil || data == nil {
		return err
	}
	t, _ := objects.TypeOf(data)
	if wantConflict := e.Kind == objects.KindConflict; wantConflict != (t == objects.TypeConflict) ||
		(!wantConflict && t != objects.TypeBlob && t != objects.TypeChunked) {
		c.missing = append(c.missing, Problem{ID: e.ID, Message: fmt.Sprintf("a %s entry names a %s", e.Kind, t)})
		return nil
	}
	switch t {
	case objects.TypeChunked:
		doc, err := objects.DecodeChunked(data)
		if err != nil {
			return nil
		}
		for _, ch := range doc.Chunks {
			if ok, err := c.r.store.Has(ctx, ch.ID); err != nil {
				return err
			} else if !ok {
				c.missing = append(c.missing, Problem{ID: ch.ID, Message: "missing chunk"})
			}
		}
	case objects.TypeConflict:
		rec, err := objects.DecodeConflict(data)
		if err != nil {
			return nil
		}
		c.recordKeys[e.ID] = rec.Key
		for _, side := range []objects.Entry{rec.Base, rec.Ours, rec.Theirs} {
			if !side.ID.IsZero() {
				if err := c.visitEntry(ctx, side); err != nil {
					return err
				}
			}
		}
		for _, old := range rec.Replaces {
			if err := c.visitEntry(ctx, objects.Entry{ID: old, Kind: objects.KindConflict}); err != nil {
				return err
			}
			if k, ok := c.recordKeys[old]; ok && k != rec.Key {
				c.missing = append(c.missing, Problem{ID: e.ID, Message: fmt.Sprintf("conflict record for %q replaces one for %q", rec.Key, k)})
			}
		}
	}
	return nil
}
