package transfer

import (
	"context"
	"fmt"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
)

// CheckMaps walks the maps of the commits that arrived, going down only
// into nodes that arrived too (the rest was checked when it was stored),
// with prolly's full checks: each child fits its parent (level, key range,
// entry count) and each node is cut where the chunking rule cuts it. A map
// cut differently would hash differently from the same documents chunked
// here, and leaders that merged it would stop converging. Keys in leaves
// that arrived must pass objects.ValidateNewKey: a peer cannot bring in a
// key that no local write could make (a .git or .folio segment).
func CheckMaps(ctx context.Context, store objects.ObjectReader, tree *prolly.Tree, got *Received) error {
	seen := map[objects.ID]bool{}
	for _, id := range got.Commits {
		data, err := store.Get(ctx, id)
		if err != nil {
			return err
		}
		c, err := objects.DecodeCommit(data)
		if err != nil {
			return err
		}
		for _, root := range []objects.ID{c.Index, c.Conflicts} {
			if root.IsZero() || seen[root] || !got.Nodes[root] {
				continue
			}
			seen[root] = true
			err := tree.Walk(ctx, root, func(node objects.ID, n *objects.Node) (bool, error) {
				if !got.Nodes[node] {
					return false, nil
				}
				if n.Level > 0 {
					return true, nil
				}
				for _, it := range n.Items {
					if err := objects.ValidateNewKey(it.Key); err != nil {
						return false, err
					}
				}
				return false, nil
			})
			if err != nil {
				return fmt.Errorf("commit %s: %w", id.Short(), err)
			}
		}
	}
	return nil
}

// CheckTargets checks that every commit a ref is about to name is stored
// and is a commit. Objects that arrive complete only what they reference;
// the refs a server announces are names, checked here before any moves.
func CheckTargets(ctx context.Context, store objects.ObjectReader, ids ...objects.ID) error {
	for _, id := range ids {
		if id.IsZero() {
			continue
		}
		data, err := store.Get(ctx, id)
		if err != nil {
			return fmt.Errorf("ref target %s: %w", id.Short(), err)
		}
		if t, err := objects.TypeOf(data); err != nil || t != objects.TypeCommit {
			return fmt.Errorf("%w: ref target %s is not a commit", ErrBadReference, id.Short())
		}
	}
	return nil
}
