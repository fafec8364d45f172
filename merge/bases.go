package merge

import (
	"context"
	"slices"

	"github.com/folio-db/folio/objects"
)

// CommitReader reads commits.
type CommitReader interface {
	ReadCommit(ctx context.Context, id objects.ID) (*objects.Commit, error)
}

// Walk flags, as in Git's paint-down-to-common.
const (
	fromA = 1 << iota // reachable from a
	fromB             // reachable from b
	stale             // below a common ancestor already found
)

// Bases returns the best common ancestors of a and b: common ancestors
// that are not ancestors of another common ancestor. There is one in a
// plain fork, several in a criss-cross history, none for unrelated
// histories. They are sorted by ID. The walk visits commits highest first
// and stops when every commit left in the queue is below a common
// ancestor, so it reads only the commits above the bases, and holds only
// its frontier: memory follows the history's width, not its length.
func Bases(ctx context.Context, r CommitReader, a, b objects.ID) ([]objects.ID, error) {
	if a == b {
		return []objects.ID{a}, nil
	}
	w := objects.NewFrontier(r.ReadCommit, stale)
	if err := w.Add(ctx, a, fromA); err != nil {
		return nil, err
	}
	if err := w.Add(ctx, b, fromB); err != nil {
		return nil, err
	}
	var found []objects.ID
	for w.Live() > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id, c, f := w.Pop()
		if f&(fromA|fromB) == fromA|fromB && f&stale == 0 {
			found = append(found, id)
			f |= stale
		}
		for _, p := range c.Parents {
			if err := w.Add(ctx, p, f); err != nil {
				return nil, err
			}
		}
	}
	best, err := removeRedundant(ctx, r, found)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(best, objects.ID.Compare)
	return best, nil
}

// removeRedundant drops candidates that are ancestors of other candidates.
func removeRedundant(ctx context.Context, r CommitReader, candidates []objects.ID) ([]objects.ID, error) {
	if len(candidates) < 2 {
		return candidates, nil
	}
	var out []objects.ID
	for i, c := range candidates {
		redundant := false
		for j, other := range candidates {
			if i == j {
				continue
			}
			ok, err := IsAncestor(ctx, r, c, other)
			if err != nil {
				return nil, err
			}
			if ok {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, c)
		}
	}
	return out, nil
}

// IsAncestor reports whether a is an ancestor of b (or b itself). Heights
// bound the walk: nothing below a's height needs to be read, and the walk
// holds only its frontier.
func IsAncestor(ctx context.Context, r CommitReader, a, b objects.ID) (bool, error) {
	if a == b {
		return true, nil
	}
	ac, err := r.ReadCommit(ctx, a)
	if err != nil {
		return false, err
	}
	w := objects.NewFrontier(r.ReadCommit, 0)
	if err := w.Add(ctx, b, 0); err != nil {
		return false, err
	}
	for w.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		id, c, _ := w.Pop()
		if id == a {
			return true, nil
		}
		if c.Height <= ac.Height {
			continue
		}
		for _, p := range c.Parents {
			if err := w.Add(ctx, p, 0); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}
