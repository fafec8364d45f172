package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
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
	// Table is the set-aside table file (one the store's MANIFEST does
	// not list) that alone holds it (badgerstore.Unlisted).
	Table string `json:"table,omitempty"`
	// Uses are where the walk of the refs met the object: the documents
	// whose content (or chunk, or conflict record) it is, or the commit
	// it is, or whose map holds it. At most maxUses.
	Uses []Use `json:"uses,omitempty"`
	// DamagedRef names a ref whose stored value fails its check; ID is
	// then what the value holds, unverified (RemoveDamagedRefs).
	DamagedRef string `json:"damaged_ref,omitempty"`
}

// Use is one place a damaged or missing object is needed: document Key
// (empty for a commit or a map node) as of Commit (zero for staged
// changes), reached from Ref.
type Use struct {
	Key    string     `json:"key,omitempty"`
	Ref    string     `json:"ref"`
	Commit objects.ID `json:"commit,omitzero"`
}

// maxUses bounds the uses fsck lists per problem: an object shared by
// every commit of a long history would otherwise list them all.
const maxUses = 10

// Damaged lists the IDs of the problems, once each: the objects a repair
// fetches again (not the unverified IDs of damaged refs).
func (f *FsckReport) Damaged() []objects.ID {
	seen := map[objects.ID]bool{}
	var out []objects.ID
	for _, p := range f.Problems {
		if p.DamagedRef == "" && !seen[p.ID] {
			seen[p.ID] = true
			out = append(out, p.ID)
		}
	}
	return out
}

// OK reports a clean repository.
func (f *FsckReport) OK() bool { return len(f.Problems) == 0 }

// Fsck re-hashes and decodes every stored object, then checks that every
// ref's closure (commits, parents, maps, conflict records, documents,
// chunks) is fully stored, and says where each damaged or missing object
// is used (Problem.Uses).
func (r *Repo) Fsck(ctx context.Context) (*FsckReport, error) {
	if m, ok := r.store.(Maintainer); ok {
		return m.Fsck(ctx)
	}
	rep := &FsckReport{Problems: []Problem{}}
	c := &closure{r: r, seen: map[objects.ID]bool{}, entries: map[objects.ID]bool{},
		maps: map[objects.ID]bool{}, recordKeys: map[objects.ID]string{},
		bad: map[objects.ID]bool{}, uses: map[objects.ID][]Use{}}
	err := r.store.Objects(ctx, nil, func(id objects.ID, data []byte) error {
		rep.Objects++
		if err := objects.VerifyStored(id, data); err != nil {
			rep.Problems = append(rep.Problems, Problem{ID: id, Message: err.Error()})
			c.bad[id] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	refs, damaged, err := r.CheckedRefs(ctx, "")
	if err != nil {
		return nil, err
	}
	rep.Refs = len(refs) + len(damaged)
	for _, d := range damaged {
		rep.Problems = append(rep.Problems, damagedRefProblem(d))
	}
	for _, ref := range refs {
		c.missing = nil
		c.ref, c.commit = ref.Name, objects.ID{}
		if err := c.visitRef(ctx, ref); err != nil {
			return nil, err
		}
		for _, m := range c.missing {
			m.Ref = ref.Name
			rep.Problems = append(rep.Problems, m)
		}
	}
	aside, err := setAsideProblems(r.store)
	if err != nil {
		return nil, err
	}
	rep.Problems = append(rep.Problems, aside...)
	for i := range rep.Problems {
		rep.Problems[i].Uses = c.uses[rep.Problems[i].ID]
	}
	return rep, nil
}

// SetAside counts what the store found only in table files its MANIFEST
// does not list, and could not take back: what every command should warn
// about. It costs no reading (badgerstore.Store.SetAside).
func (r *Repo) SetAside() (tables, entries int) {
	s, ok := r.store.(interface {
		SetAside() []badgerstore.SetAsideTable
	})
	if !ok {
		return 0, 0
	}
	for _, t := range s.SetAside() {
		tables++
		entries += t.Entries()
	}
	return tables, entries
}

// setAsideProblems lists what a Badger store found only in table files its
// MANIFEST does not list and could not take back (badgerstore.Unlisted).
func setAsideProblems(store objects.Store) ([]Problem, error) {
	s, ok := store.(interface {
		Unlisted() ([]badgerstore.Unlisted, error)
	})
	if !ok {
		return nil, nil
	}
	unlisted, err := s.Unlisted()
	if err != nil {
		return nil, err
	}
	var out []Problem
	for _, u := range unlisted {
		out = append(out, Problem{ID: u.ID, Ref: u.Ref, Message: u.String(), Table: u.Table})
	}
	return out, nil
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
	// bad holds the damaged and missing objects found so far, uses where
	// the walk met them; ref and commit are where the walk is.
	bad    map[objects.ID]bool
	uses   map[objects.ID][]Use
	ref    string
	commit objects.ID
}

// get reads an object of the closure. A missing one is a problem; a
// damaged one was reported by the pass over the objects: both return no
// bytes and no error.
func (c *closure) get(ctx context.Context, id objects.ID, what string) ([]byte, error) {
	data, err := c.r.store.Get(ctx, id)
	switch {
	case errors.Is(err, objects.ErrNotFound):
		c.missing = append(c.missing, Problem{ID: id, Message: "missing " + what})
		c.bad[id] = true
		return nil, nil
	case errors.Is(err, objects.ErrDamaged):
		c.bad[id] = true
		return nil, nil
	}
	return data, err
}

// note records that document key (empty: a commit or map node) at the
// walk's ref and commit uses id, if id is damaged or missing.
func (c *closure) note(id objects.ID, key string) {
	if c.bad[id] && len(c.uses[id]) < maxUses {
		c.uses[id] = append(c.uses[id], Use{Key: key, Ref: c.ref, Commit: c.commit})
	}
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
		c.commit = objects.ID{} // staged changes
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
		c.commit = id
		data, err := c.get(ctx, id, "commit")
		if err != nil {
			return err
		}
		if data == nil {
			c.note(id, "")
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
		c.bad[root] = true
		c.note(root, "")
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
			if err := c.visitEntry(ctx, it.Key, it.Entry); err != nil {
				return false, err
			}
			if k, ok := c.recordKeys[it.Entry.ID]; ok && k != it.Key {
				c.missing = append(c.missing, Problem{ID: it.Entry.ID, Message: fmt.Sprintf("conflict record for %q filed under %q", k, it.Key)})
			}
		}
		return false, nil
	})
	var damaged *objects.DamagedError
	switch {
	case errors.As(err, &damaged):
		// The pass over the objects reported the node; the walk stops
		// there, and goes on with the next map.
		c.bad[damaged.ID] = true
		c.note(damaged.ID, "")
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

// visitEntry checks the document or conflict record e stored under key.
func (c *closure) visitEntry(ctx context.Context, key string, e objects.Entry) error {
	defer c.note(e.ID, key) // after get found it missing, if it is
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
				c.bad[ch.ID] = true
			}
			c.note(ch.ID, key)
		}
	case objects.TypeConflict:
		rec, err := objects.DecodeConflict(data)
		if err != nil {
			return nil
		}
		c.recordKeys[e.ID] = rec.Key
		for _, side := range []objects.Entry{rec.Base, rec.Ours, rec.Theirs} {
			if !side.ID.IsZero() {
				if err := c.visitEntry(ctx, key, side); err != nil {
					return err
				}
			}
		}
		for _, old := range rec.Replaces {
			if err := c.visitEntry(ctx, key, objects.Entry{ID: old, Kind: objects.KindConflict}); err != nil {
				return err
			}
			if k, ok := c.recordKeys[old]; ok && k != rec.Key {
				c.missing = append(c.missing, Problem{ID: e.ID, Message: fmt.Sprintf("conflict record for %q replaces one for %q", rec.Key, k)})
			}
		}
	}
	return nil
}
