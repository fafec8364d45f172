package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/folio-db/folio/objects"
)

// Branch is a branch and the commit it points at.
type Branch struct {
	Name    string     `json:"name"`
	Commit  objects.ID `json:"commit"`
	Current bool       `json:"current"`
}

// Branches lists the local branches, sorted by name. An unborn current
// branch is listed with a zero commit.
func (r *Repo) Branches(ctx context.Context) ([]Branch, error) {
	current, err := r.HeadRef()
	if err != nil {
		return nil, err
	}
	refs, err := r.store.Refs(ctx, objects.BranchPrefix)
	if err != nil {
		return nil, err
	}
	var out []Branch
	sawCurrent := false
	for _, ref := range refs {
		b := Branch{Name: strings.TrimPrefix(ref.Name, objects.BranchPrefix), Commit: ref.ID, Current: ref.Name == current}
		sawCurrent = sawCurrent || b.Current
		out = append(out, b)
	}
	if !sawCurrent {
		out = append(out, Branch{Name: strings.TrimPrefix(current, objects.BranchPrefix), Current: true})
	}
	return out, nil
}

// CreateBranch makes a new branch at a commit.
func (r *Repo) CreateBranch(ctx context.Context, name string, at objects.ID) error {
	if err := r.checkWritable(); err != nil {
		return err
	}
	if err := objects.ValidateBranchName(name); err != nil {
		return err
	}
	return r.createRef(ctx, objects.BranchPrefix+name, at, ErrBranchExists)
}

// CreateTag makes a new tag at a commit.
func (r *Repo) CreateTag(ctx context.Context, name string, at objects.ID) error {
	if err := r.checkWritable(); err != nil {
		return err
	}
	if err := objects.ValidateTagName(name); err != nil {
		return err
	}
	return r.createRef(ctx, objects.TagPrefix+name, at, ErrTagExists)
}

func (r *Repo) createRef(ctx context.Context, name string, at objects.ID, exists error) error {
	if at.IsZero() {
		return ErrNoCommits
	}
	err := r.store.UpdateRefs(ctx, objects.RefUpdate{Name: name, New: at})
	if err != nil && isRefChanged(err) {
		return fmt.Errorf("%w: %s", exists, name)
	}
	return err
}

// MoveBranch points a branch at a commit whatever it pointed at before, as
// git branch -f does, creating it if it is missing, and returns where it
// was (zero for a new branch). The current branch may move too: folio has
// no working folder to leave behind. A branch with staged changes is
// refused, as they were staged on its old commit. The move is a
// compare-and-swap from the value read, so a concurrent commit is not lost
// silently. A branch whose stored name or value was damaged is removed
// first, and its unverified ID returned.
func (r *Repo) MoveBranch(ctx context.Context, name string, to objects.ID) (objects.ID, error) {
	if err := r.checkWritable(); err != nil {
		return objects.ID{}, err
	}
	if err := objects.ValidateBranchName(name); err != nil {
		return objects.ID{}, err
	}
	if to.IsZero() {
		return objects.ID{}, ErrNoCommits
	}
	ref := objects.BranchPrefix + name
	from, err := r.store.Ref(ctx, ref)
	if errors.Is(err, objects.ErrCorrupt) || errors.Is(err, objects.ErrNotFound) {
		if was, done, err := r.moveDamagedBranch(ctx, name, to, err); done {
			return was, err
		}
		from, err = objects.ID{}, nil
	}
	if err != nil {
		return objects.ID{}, err
	}
	if err := r.errIfStaged(ctx, ref); err != nil {
		return objects.ID{}, err
	}
	if from == to {
		return from, nil
	}
	return from, r.store.UpdateRefs(ctx, objects.RefUpdate{Name: ref, Old: from, New: to})
}

// moveDamagedBranch sets a branch whose stored value is damaged, which
// nothing else can move, when readErr from reading it says it may be (a
// damaged name may read as absent: dropIfDamaged): the damaged value goes
// first, kept for gc as a retired value. done is false when there is no
// damaged branch to set (the branch is new). Staged changes cannot be
// read against a head that cannot be read: such a branch is refused.
func (r *Repo) moveDamagedBranch(ctx context.Context, name string, to objects.ID, readErr error) (was objects.ID, done bool, _ error) {
	ref := objects.BranchPrefix + name
	ws, err := r.RefOrZero(ctx, WorkingSetRef(ref))
	if err != nil {
		return objects.ID{}, true, err
	}
	absent := errors.Is(readErr, objects.ErrNotFound)
	if !ws.IsZero() {
		if absent { // an unborn branch with staged changes, which MoveBranch refuses
			return objects.ID{}, false, nil
		}
		return objects.ID{}, true, fmt.Errorf("%w on damaged branch %s: 'folio branch -D %s' removes both: %w", ErrStagedChanges, name, name, readErr)
	}
	was, dropped, err := r.dropIfDamaged(ctx, ref, readErr)
	if !dropped && absent && errors.Is(err, objects.ErrNotFound) { // no such ref at all
		return objects.ID{}, false, nil
	}
	if err != nil {
		return objects.ID{}, true, fmt.Errorf("branch %q: %w", name, err)
	}
	return was, true, r.store.UpdateRefs(ctx, objects.RefUpdate{Name: ref, New: to})
}

// DeleteBranch removes a branch and its working set. The current branch
// cannot be deleted.
func (r *Repo) DeleteBranch(ctx context.Context, name string) (objects.ID, error) {
	if err := r.checkWritable(); err != nil {
		return objects.ID{}, err
	}
	ref := objects.BranchPrefix + name
	current, err := r.HeadRef()
	if err != nil {
		return objects.ID{}, err
	}
	if ref == current {
		return objects.ID{}, fmt.Errorf("%w %q: switch to another branch first", ErrCurrentBranch, name)
	}
	ws, err := r.RefOrZero(ctx, WorkingSetRef(ref))
	if err != nil {
		return objects.ID{}, err
	}
	var updates []objects.RefUpdate
	if !ws.IsZero() {
		updates = append(updates, objects.RefUpdate{Name: WorkingSetRef(ref), Old: ws})
	}
	id, err := r.store.Ref(ctx, ref)
	if id, dropped, err := r.dropIfDamaged(ctx, ref, err); dropped || err != nil {
		if err != nil {
			return objects.ID{}, fmt.Errorf("branch %q: %w", name, err)
		}
		return id, r.store.UpdateRefs(ctx, updates...)
	}
	updates = append(updates, objects.RefUpdate{Name: ref, Old: id})
	return id, r.store.UpdateRefs(ctx, updates...)
}

// RenameBranch gives a branch a new name, with its staged changes, in one
// atomic ref update; renaming the current branch keeps it current. The new
// name must be free.
func (r *Repo) RenameBranch(ctx context.Context, from, to string) error {
	if err := r.checkWritable(); err != nil {
		return err
	}
	if err := objects.ValidateBranchName(to); err != nil {
		return err
	}
	oldRef, newRef := objects.BranchPrefix+from, objects.BranchPrefix+to
	current, err := r.HeadRef()
	if err != nil {
		return err
	}
	id, err := r.RefOrZero(ctx, oldRef)
	if err != nil {
		return err
	}
	if id.IsZero() && current != oldRef { // only the current branch may be unborn
		return fmt.Errorf("branch %q: %w", from, objects.ErrNotFound)
	}
	if taken, err := r.RefOrZero(ctx, newRef); err != nil {
		return err
	} else if !taken.IsZero() {
		return fmt.Errorf("%w: %s", ErrBranchExists, to)
	}
	var updates []objects.RefUpdate
	if !id.IsZero() {
		updates = append(updates, objects.RefUpdate{Name: oldRef, Old: id}, objects.RefUpdate{Name: newRef, New: id})
	}
	if ws, err := r.RefOrZero(ctx, WorkingSetRef(oldRef)); err != nil {
		return err
	} else if !ws.IsZero() {
		updates = append(updates,
			objects.RefUpdate{Name: WorkingSetRef(oldRef), Old: ws},
			objects.RefUpdate{Name: WorkingSetRef(newRef), New: ws})
	}
	if err := r.store.UpdateRefs(ctx, updates...); err != nil {
		if isRefChanged(err) {
			return fmt.Errorf("%w: %s", ErrBranchExists, to)
		}
		return err
	}
	if current != oldRef {
		return nil
	}
	return r.setHead(to)
}

// DeleteTag removes a tag and returns the commit it named.
func (r *Repo) DeleteTag(ctx context.Context, name string) (objects.ID, error) {
	if err := r.checkWritable(); err != nil {
		return objects.ID{}, err
	}
	ref := objects.TagPrefix + name
	id, err := r.store.Ref(ctx, ref)
	if id, dropped, err := r.dropIfDamaged(ctx, ref, err); dropped || err != nil {
		if err != nil {
			return objects.ID{}, fmt.Errorf("tag %q: %w", name, err)
		}
		return id, nil
	}
	return id, r.store.UpdateRefs(ctx, objects.RefUpdate{Name: ref, Old: id})
}

// Switch makes another branch current; with create it first makes the
// branch at the current head. Each branch keeps its own staged changes, so
// switching never loses or carries them.
func (r *Repo) Switch(ctx context.Context, name string, create bool) error {
	if err := r.checkWritable(); err != nil {
		return err
	}
	if err := objects.ValidateBranchName(name); err != nil {
		return err
	}
	ref := objects.BranchPrefix + name
	if create {
		head, err := r.HeadRef()
		if err != nil {
			return err
		}
		at, err := r.RefOrZero(ctx, head)
		if err != nil {
			return err
		}
		if !at.IsZero() {
			if err := r.CreateBranch(ctx, name, at); err != nil {
				return err
			}
		} else if exists, err := r.RefOrZero(ctx, ref); err != nil {
			return err
		} else if !exists.IsZero() {
			return fmt.Errorf("%w: %s", ErrBranchExists, name)
		}
	} else if _, err := r.store.Ref(ctx, ref); err != nil {
		return fmt.Errorf("branch %q: %w (use 'folio switch -c %s' to create it)", name, err, name)
	}
	return r.setHead(name)
}

// Tags lists the tags, sorted by name.
func (r *Repo) Tags(ctx context.Context) ([]objects.Ref, error) {
	return r.store.Refs(ctx, objects.TagPrefix)
}
