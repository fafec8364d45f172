package transfer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/folio-db/folio/objects"
)

const (
	wanted = 1 << iota
	had
)

// Source is what the sender reads: a store.
type Source = objects.ObjectReader

func readCommit(ctx context.Context, r Source, id objects.ID) (*objects.Commit, error) {
	c, _, err := readCommitBytes(ctx, r, id)
	return c, err
}

// readCommitBytes is readCommit that also returns the commit's stored
// bytes.
func readCommitBytes(ctx context.Context, r Source, id objects.ID) (*objects.Commit, []byte, error) {
	data, err := r.Get(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("commit %s: %w", id.Short(), err)
	}
	c, err := objects.DecodeCommit(data)
	return c, data, err
}

// MissingCommits returns the commits reachable from wants but not from
// haves, parents before children. Haves the sender does not have are
// ignored (the receiver may know commits from elsewhere).
//
// The walk pops the highest commit first. All children of a commit are
// higher, so when it pops, every flag it will ever get has reached it: it
// is missing exactly when no have reaches it. The walk ends when every
// queued commit is reached by a have. It holds only its frontier (see
// objects.Frontier) and the IDs it returns.
func MissingCommits(ctx context.Context, r Source, wants, haves []objects.ID) ([]objects.ID, error) {
	var missing []objects.ID
	err := walkMissing(ctx, r, wants, haves, func(id objects.ID) error {
		missing = append(missing, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Reverse(missing) // heights grow from parent to child
	return missing, nil
}

// NewestMissingCommits is MissingCommits children first, stopped after
// limit commits: the newest, which a receiver that holds any of them is
// likeliest to hold. The walk holds no more than that.
func NewestMissingCommits(ctx context.Context, r Source, wants, haves []objects.ID, limit int) ([]objects.ID, error) {
	var missing []objects.ID
	err := walkMissing(ctx, r, wants, haves, func(id objects.ID) error {
		missing = append(missing, id)
		if len(missing) >= limit {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	return missing, nil
}

var errEnough = errors.New("transfer: enough commits")

// walkMissing calls fn with each commit MissingCommits returns, children
// first.
func walkMissing(ctx context.Context, r Source, wants, haves []objects.ID, fn func(objects.ID) error) error {
	w := objects.NewFrontier(func(ctx context.Context, id objects.ID) (*objects.Commit, error) {
		return readCommit(ctx, r, id)
	}, had)
	for _, h := range haves {
		if ok, err := r.Has(ctx, h); err != nil {
			return err
		} else if ok {
			if err := w.Add(ctx, h, had); err != nil {
				return err
			}
		}
	}
	for _, id := range wants {
		if err := w.Add(ctx, id, wanted); err != nil {
			return err
		}
	}
	for w.Live() > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		id, c, f := w.Pop()
		if f&had == 0 {
			if err := fn(id); err != nil {
				return err
			}
		}
		for _, p := range c.Parents {
			if err := w.Add(ctx, p, f); err != nil {
				return err
			}
		}
	}
	return nil
}
