package repo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
)

// Edit sets a key to an entry or deletes it.
type Edit = prolly.Edit

// applyEdits validates, sorts and applies a batch of edits to a map root.
// A key edited twice keeps its last edit. Every write of a document under
// a key passes here: a key it sets must pass objects.ValidateNewKey; a key
// it deletes only ValidateKey, so keys stored before that rule can go.
func (r *Repo) applyEdits(ctx context.Context, root objects.ID, edits []Edit) (objects.ID, error) {
	for _, e := range edits {
		validate := objects.ValidateNewKey
		if e.Delete {
			validate = objects.ValidateKey
		}
		if err := validate(e.Key); err != nil {
			return root, err
		}
	}
	sorted := slices.Clone(edits)
	slices.SortStableFunc(sorted, func(a, b Edit) int { return strings.Compare(a.Key, b.Key) })
	unique := sorted[:0]
	for i, e := range sorted {
		if i+1 < len(sorted) && sorted[i+1].Key == e.Key {
			continue // a later edit of the same key wins
		}
		unique = append(unique, e)
	}
	return r.tree.Edit(ctx, root, unique)
}

// Lookup returns the entry of key in a map, or ErrNoSuchKey.
func (r *Repo) Lookup(ctx context.Context, root objects.ID, key string) (objects.Entry, error) {
	if err := objects.ValidateKey(key); err != nil {
		return objects.Entry{}, err
	}
	e, ok, err := r.tree.Get(ctx, root, key)
	if err != nil {
		return objects.Entry{}, err
	}
	if !ok {
		return objects.Entry{}, fmt.Errorf("%w: %s", ErrNoSuchKey, key)
	}
	return e, nil
}

// KeysUnder lists the keys of a map equal to name or under name + "/".
func (r *Repo) KeysUnder(ctx context.Context, root objects.ID, name string) ([]prolly.Change, error) {
	var out []prolly.Change
	if e, ok, err := r.tree.Get(ctx, root, name); err != nil {
		return nil, err
	} else if ok {
		out = append(out, prolly.Change{Key: name, From: e})
	}
	err := r.tree.Iterate(ctx, root, name+"/", "", func(key string, e objects.Entry) error {
		out = append(out, prolly.Change{Key: key, From: e})
		return nil
	})
	return out, err
}

// RemoveEdits returns the edits that delete the given keys from a map; with
// recursive, a name also removes every key under name + "/". A name that
// matches nothing is an error and nothing is removed.
func (r *Repo) RemoveEdits(ctx context.Context, root objects.ID, names []string, recursive bool) ([]Edit, error) {
	var edits []Edit
	for _, name := range names {
		if err := objects.ValidateKey(name); err != nil {
			return nil, err
		}
		found, err := r.KeysUnder(ctx, root, name)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchKey, name)
		}
		if found[0].Key != name && !recursive {
			return nil, fmt.Errorf("%w: %s is a prefix of %d documents (use -r to remove them all)", ErrNoSuchKey, name, len(found))
		}
		for _, f := range found {
			if f.Key == name || recursive {
				edits = append(edits, Edit{Key: f.Key, Delete: true})
			}
		}
	}
	return edits, nil
}

// MoveEdits returns the edits that rename old to new: a document, or every
// document under the prefix old + "/". The target must not exist.
func (r *Repo) MoveEdits(ctx context.Context, root objects.ID, oldName, newName string) ([]Edit, error) {
	if err := objects.ValidateKey(oldName); err != nil {
		return nil, err
	}
	if err := objects.ValidateNewKey(newName); err != nil {
		return nil, err
	}
	if oldName == newName || strings.HasPrefix(newName, oldName+"/") {
		return nil, fmt.Errorf("%w: cannot move %s into itself", objects.ErrInvalidKey, oldName)
	}
	found, err := r.KeysUnder(ctx, root, oldName)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchKey, oldName)
	}
	var edits []Edit
	for _, f := range found {
		target := newName + strings.TrimPrefix(f.Key, oldName)
		if err := objects.ValidateNewKey(target); err != nil {
			return nil, err
		}
		if _, ok, err := r.tree.Get(ctx, root, target); err != nil {
			return nil, err
		} else if ok {
			return nil, fmt.Errorf("%w: %s already exists", objects.ErrInvalidKey, target)
		}
		edits = append(edits, Edit{Key: f.Key, Delete: true}, Edit{Key: target, Entry: f.From})
	}
	slices.SortFunc(edits, func(a, b Edit) int { return cmp.Compare(a.Key, b.Key) })
	return edits, nil
}
