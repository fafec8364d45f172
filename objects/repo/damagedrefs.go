package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
)

// damagedRefStore is a store that lists damaged refs apart and removes
// them (badgerstore.Store); on others a damaged ref fails Refs.
type damagedRefStore interface {
	CheckedRefs(ctx context.Context, prefix string) ([]objects.Ref, []badgerstore.DamagedRef, error)
	DropDamagedRef(ctx context.Context, name string) (badgerstore.DamagedRef, error)
}

// checkedRefs lists the refs, and the damaged ones apart where the store
// can tell them.
func (r *Repo) checkedRefs(ctx context.Context) ([]objects.Ref, []badgerstore.DamagedRef, error) {
	if s, ok := r.store.(damagedRefStore); ok {
		return s.CheckedRefs(ctx, "")
	}
	refs, err := r.store.Refs(ctx, "")
	return refs, nil, err
}

// RemovedRef is a damaged ref RemoveDamagedRefs removed.
type RemovedRef struct {
	badgerstore.DamagedRef
	// Restore is the command that sets the ref again at the ID it held,
	// for a branch or tag whose value held one: to be run once that ID is
	// known to be the right one.
	Restore string `json:"restore,omitempty"`
}

// RemoveDamagedRefs removes every ref whose stored value fails its check
// (fsck --repair): nothing else can read, move or list past it. The ID each
// held is unverified; the store keeps what it names for gc's grace period.
func (r *Repo) RemoveDamagedRefs(ctx context.Context) ([]RemovedRef, error) {
	if err := r.checkWritable(); err != nil {
		return nil, err
	}
	s, ok := r.store.(damagedRefStore)
	if !ok {
		return nil, nil
	}
	_, damaged, err := s.CheckedRefs(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []RemovedRef
	for _, d := range damaged {
		if _, err := s.DropDamagedRef(ctx, d.Name); err != nil {
			return out, err
		}
		out = append(out, RemovedRef{DamagedRef: d, Restore: restoreCommand(d)})
	}
	return out, nil
}

// restoreCommand is the command that sets a removed branch or tag again.
func restoreCommand(d badgerstore.DamagedRef) string {
	if d.ID.IsZero() {
		return ""
	}
	if name, ok := strings.CutPrefix(d.Name, objects.BranchPrefix); ok {
		return fmt.Sprintf("folio branch %s %s", name, d.ID)
	}
	if name, ok := strings.CutPrefix(d.Name, objects.TagPrefix); ok {
		return fmt.Sprintf("folio tag %s %s", name, d.ID)
	}
	return ""
}

// dropIfDamaged removes ref if it is damaged, when err from reading it
// says it may be (branch -D, tag -d): it returns the unverified ID it
// held, and done. Otherwise it returns err and done is false. A ref whose
// name was damaged on disk may read as absent (readDamagedRef).
func (r *Repo) dropIfDamaged(ctx context.Context, ref string, err error) (id objects.ID, done bool, _ error) {
	s, ok := r.store.(damagedRefStore)
	if !ok || !errors.Is(err, objects.ErrCorrupt) && !errors.Is(err, objects.ErrNotFound) {
		return objects.ID{}, false, err
	}
	d, dropErr := s.DropDamagedRef(ctx, ref)
	if errors.Is(dropErr, objects.ErrNotFound) {
		return objects.ID{}, false, err
	}
	return d.ID, true, dropErr
}

// damagedRefProblem is fsck's report of a damaged ref.
func damagedRefProblem(d badgerstore.DamagedRef) Problem {
	holds := "it holds no ID"
	if !d.ID.IsZero() {
		holds = "it holds " + d.ID.String() + " (unverified)"
	}
	return Problem{ID: d.ID, DamagedRef: d.Name, Message: fmt.Sprintf(
		"damaged ref %s: %s; %s. 'folio fsck --repair' removes it and prints the command that sets it again",
		d.Name, d.Why, holds)}
}
