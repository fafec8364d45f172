package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/folio-db/folio/objects"
)

// DamagedRefStore is a store that lists damaged refs apart and removes
// them (badgerstore.Store, and remote/client.Store over a server's); on
// others a damaged ref fails Refs.
type DamagedRefStore interface {
	// CheckedRefs is Refs that goes on past damaged refs: it lists the
	// refs whose values pass their checks, and the damaged ones apart.
	CheckedRefs(ctx context.Context, prefix string) ([]objects.Ref, []objects.DamagedRef, error)
	// DropDamagedRef deletes ref name if its value fails its check, and
	// only then: a good ref is objects.ErrRefNotDamaged, an absent one
	// objects.ErrNotFound, and either changes nothing.
	DropDamagedRef(ctx context.Context, name string) (objects.DamagedRef, error)
}

// CheckedRefs lists the refs under prefix, and the damaged ones apart
// where the store can tell them.
func (r *Repo) CheckedRefs(ctx context.Context, prefix string) ([]objects.Ref, []objects.DamagedRef, error) {
	if s, ok := r.store.(DamagedRefStore); ok {
		return s.CheckedRefs(ctx, prefix)
	}
	refs, err := r.store.Refs(ctx, prefix)
	return refs, nil, err
}

// DropDamagedRef removes ref name if its stored value fails its check
// (DamagedRefStore), and returns what it was. A store that cannot tell
// damaged refs holds none: there, every ref is ErrRefNotDamaged.
func (r *Repo) DropDamagedRef(ctx context.Context, name string) (objects.DamagedRef, error) {
	if err := r.checkWritable(); err != nil {
		return objects.DamagedRef{}, err
	}
	s, ok := r.store.(DamagedRefStore)
	if !ok {
		return objects.DamagedRef{}, fmt.Errorf("%w: %s: this store keeps no damaged refs", objects.ErrRefNotDamaged, name)
	}
	return s.DropDamagedRef(ctx, name)
}

// RemovedRef is a damaged ref RemoveDamagedRefs removed.
type RemovedRef struct {
	objects.DamagedRef
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
	_, damaged, err := r.CheckedRefs(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []RemovedRef
	for _, d := range damaged {
		if _, err := r.DropDamagedRef(ctx, d.Name); err != nil {
			return out, err
		}
		out = append(out, RemovedRef{DamagedRef: d, Restore: restoreCommand(d)})
	}
	return out, nil
}

// restoreCommand is the command that sets a removed branch or tag again.
func restoreCommand(d objects.DamagedRef) string {
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
	s, ok := r.store.(DamagedRefStore)
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
func damagedRefProblem(d objects.DamagedRef) Problem {
	holds := "it holds no ID"
	if !d.ID.IsZero() {
		holds = "it holds " + d.ID.String() + " (unverified)"
	}
	return Problem{ID: d.ID, DamagedRef: d.Name, Message: fmt.Sprintf(
		"damaged ref %s: %s; %s. 'folio fsck --repair' removes it and prints the command that sets it again",
		d.Name, d.Why, holds)}
}
