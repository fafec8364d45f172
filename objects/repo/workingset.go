package repo

import (
	"context"
	"fmt"

	"github.com/folio-db/folio/objects"
)

// Staged is a branch's working set as read at one moment: the branch head
// and the staged state on top of it. A branch without a working-set ref has
// nothing staged: its working set is its head commit's maps.
type Staged struct {
	Branch string // full ref name
	Head   objects.ID
	objects.WorkingSet
	ref   objects.ID // the working-set ref's value; zero when derived
	clean bool       // same maps as Base and no merge pending
}

// Stale reports that the branch moved (a merge, a push from another leader,
// a write through the doc API) after these changes were staged.
func (s *Staged) Stale() bool { return !s.clean && s.Base != s.Head }

// HasChanges reports whether anything is staged.
func (s *Staged) HasChanges() bool { return !s.clean }

// WorkingSetRef is the ref name holding a branch's working set.
func WorkingSetRef(branchRef string) string { return objects.WorkingSetPrefix + branchRef }

// LoadStaged reads the working set of a branch (full ref name).
func (r *Repo) LoadStaged(ctx context.Context, branchRef string) (*Staged, error) {
	head, err := r.RefOrZero(ctx, branchRef)
	if err != nil {
		return nil, err
	}
	s := &Staged{Branch: branchRef, Head: head}
	s.ref, err = r.RefOrZero(ctx, WorkingSetRef(branchRef))
	if err != nil {
		return nil, err
	}
	if !s.ref.IsZero() {
		data, err := r.store.Get(ctx, s.ref)
		if err != nil {
			return nil, fmt.Errorf("working set of %s: %w", branchRef, err)
		}
		ws, err := objects.DecodeWorkingSet(data)
		if err != nil {
			return nil, err
		}
		s.WorkingSet = *ws
		if s.clean, err = r.isClean(ctx, ws); err != nil {
			return nil, err
		}
	}
	if s.ref.IsZero() || (s.clean && s.Base != head) {
		// Nothing staged: start from the head commit.
		s.WorkingSet = objects.WorkingSet{Base: head}
		if !head.IsZero() {
			c, err := r.ReadCommit(ctx, head)
			if err != nil {
				return nil, err
			}
			s.Index, s.Conflicts = c.Index, c.Conflicts
		}
		s.clean = true
	}
	return s, nil
}

// isClean reports whether a working set stages nothing over its base.
func (r *Repo) isClean(ctx context.Context, ws *objects.WorkingSet) (bool, error) {
	if !ws.MergeHead.IsZero() {
		return false, nil
	}
	var index, conflicts objects.ID
	if !ws.Base.IsZero() {
		c, err := r.ReadCommit(ctx, ws.Base)
		if err != nil {
			return false, err
		}
		index, conflicts = c.Index, c.Conflicts
	}
	return ws.Index == index && ws.Conflicts == conflicts, nil
}

// CurrentStaged reads the working set of the current branch.
func (r *Repo) CurrentStaged(ctx context.Context) (*Staged, error) {
	branch, err := r.HeadRef()
	if err != nil {
		return nil, err
	}
	return r.LoadStaged(ctx, branch)
}

// BaseMaps returns the index and conflicts roots of the commit staging
// began from (zero for a branch without commits): what is staged is the
// difference from them.
func (r *Repo) BaseMaps(ctx context.Context, s *Staged) (index, conflicts objects.ID, err error) {
	if s.Base.IsZero() {
		return index, conflicts, nil
	}
	c, err := r.ReadCommit(ctx, s.Base)
	if err != nil {
		return index, conflicts, err
	}
	return c.Index, c.Conflicts, nil
}

// Stage changes the working set of a branch: change edits a copy of the
// loaded working set (it may run prolly edits, which store new nodes), and
// the result replaces the old one by compare-and-swap, so two writers
// cannot lose each other's changes. A result equal to the head is stored
// as no working set at all.
func (r *Repo) Stage(ctx context.Context, branchRef string, change func(*Staged) error) (*Staged, error) {
	if err := r.checkWritable(); err != nil {
		return nil, err
	}
	s, err := r.LoadStaged(ctx, branchRef)
	if err != nil {
		return nil, err
	}
	if err := change(s); err != nil {
		return nil, err
	}
	if s.clean, err = r.isClean(ctx, &s.WorkingSet); err != nil {
		return nil, err
	}
	update := objects.RefUpdate{Name: WorkingSetRef(branchRef), Old: s.ref}
	if !s.clean {
		obj := s.WorkingSet.Encode()
		if err := r.store.Put(ctx, obj); err != nil {
			return nil, err
		}
		update.New = obj.ID
	}
	if update.Old == update.New {
		return s, nil
	}
	if err := r.store.UpdateRefs(ctx, update); err != nil {
		return nil, err
	}
	s.ref = update.New
	return s, nil
}

// StageEdits applies document edits to the staged index of a branch. A
// document written or removed over a recorded conflict settles it.
func (r *Repo) StageEdits(ctx context.Context, branchRef string, edits []Edit) (*Staged, error) {
	return r.Stage(ctx, branchRef, func(s *Staged) error { return r.EditStaged(ctx, s, edits) })
}

// EditStaged applies edits to a loaded working set (inside Stage), settling
// the conflicts of the documents it writes or removes.
func (r *Repo) EditStaged(ctx context.Context, s *Staged, edits []Edit) error {
	var err error
	s.Index, s.Conflicts, err = r.editSettling(ctx, s.Index, s.Conflicts, edits)
	return err
}

// editSettling applies edits to an index and drops the conflict records of
// the keys they touch: writing a document over a conflict is a resolution,
// as git add is.
func (r *Repo) editSettling(ctx context.Context, index, conflicts objects.ID, edits []Edit) (objects.ID, objects.ID, error) {
	index, err := r.applyEdits(ctx, index, edits)
	if err != nil {
		return index, conflicts, err
	}
	var settled []Edit
	for _, e := range edits {
		if _, ok, err := r.tree.Get(ctx, conflicts, e.Key); err != nil {
			return index, conflicts, err
		} else if ok {
			settled = append(settled, Edit{Key: e.Key, Delete: true})
		}
	}
	conflicts, err = r.applyEdits(ctx, conflicts, settled)
	return index, conflicts, err
}

// ResetStaged drops everything staged on a branch, including a pending merge.
func (r *Repo) ResetStaged(ctx context.Context, branchRef string) error {
	if err := r.checkWritable(); err != nil {
		return err
	}
	ref, err := r.RefOrZero(ctx, WorkingSetRef(branchRef))
	if err != nil || ref.IsZero() {
		return err
	}
	return r.store.UpdateRefs(ctx, objects.RefUpdate{Name: WorkingSetRef(branchRef), Old: ref})
}

// errIfStaged refuses an operation that would move a branch under staged
// changes.
func (r *Repo) errIfStaged(ctx context.Context, branchRef string) error {
	s, err := r.LoadStaged(ctx, branchRef)
	if err != nil {
		return err
	}
	if s.HasChanges() {
		return fmt.Errorf("%w on %s: commit them or drop them with 'folio reset'", ErrStagedChanges, branchRef)
	}
	return nil
}
