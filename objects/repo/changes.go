package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
)

// The change feed, as applications read it: the store's numbered branch
// moves (objects.ChangeFeed), each told with what it changed.
//
// The keys a move changed are worked out here, when the feed is read, by
// diffing the index roots of its old and new commit, not written with the
// move. The ref update stays one small fixed-size write whatever the move
// changed (a merge or import touching a million documents would otherwise
// make the transaction that moves the branch huge, or too big for Badger
// to take), and the diff, a pure function of two roots that skips equal
// subtrees, costs in proportion to the change. The price: a move whose old
// commit has been collected since (a forced move, then gc) can no longer
// say what it changed, and says so (KeysUnknown).

// Bounds of one read of the feed.
const (
	// MaxChangeKeys bounds the keys listed for one move (KeysTruncated
	// then says there were more).
	MaxChangeKeys = 1000
	// DefaultChangesLimit and MaxChangesLimit bound the moves one call
	// reads.
	DefaultChangesLimit = 1000
	MaxChangesLimit     = 10000
)

// ErrNoFeed: the store keeps no change feed.
var ErrNoFeed = errors.New("repo: this store keeps no change feed")

// ChangesQuery says which changes to read.
type ChangesQuery struct {
	Since  uint64 // read the moves after this sequence number
	Branch string // short name; "" is every branch
	// Prefix keeps only moves that changed a document under it, and lists
	// only those documents.
	Prefix string
	Limit  int // moves read (not only those that match); 0: DefaultChangesLimit
}

func (r *Repo) changeFeed() (objects.ChangeFeed, error) {
	f, ok := r.store.(objects.ChangeFeed)
	if !ok {
		return nil, ErrNoFeed
	}
	return f, nil
}

// Moved returns a channel closed at the next branch move this process
// makes in the repository (see objects.ChangeFeed).
func (r *Repo) Moved() (<-chan struct{}, error) {
	f, err := r.changeFeed()
	if err != nil {
		return nil, err
	}
	return f.Moved(), nil
}

// LatestChange returns the latest sequence number of the change feed.
func (r *Repo) LatestChange(ctx context.Context) (uint64, error) {
	f, err := r.changeFeed()
	if err != nil {
		return 0, err
	}
	_, latest, err := f.Moves(ctx, 0, 0)
	if errors.Is(err, objects.ErrFeedReset) {
		err = nil // since=0 is older than retention: latest is still right
	}
	return latest, err
}

// Changes returns the changes after q.Since that match q, and the sequence
// number it read up to: the next call continues from there. A q.Since the
// feed no longer keeps (or never gave out) is an error wrapping
// objects.ErrFeedReset, with the latest sequence number to go on from.
func (r *Repo) Changes(ctx context.Context, q ChangesQuery) ([]objects.Change, uint64, error) {
	changes, pos, _, err := r.ReadChanges(ctx, q)
	return changes, pos, err
}

// WaitChanges is Changes that waits, until ctx ends, for a change that
// matches. When ctx ends first it returns no changes, the position read
// up to, and ctx's error.
func (r *Repo) WaitChanges(ctx context.Context, q ChangesQuery) ([]objects.Change, uint64, error) {
	for {
		moved, err := r.Moved() // before reading, so no move slips between
		if err != nil {
			return nil, q.Since, err
		}
		changes, pos, caughtUp, err := r.ReadChanges(ctx, q)
		if err != nil || len(changes) > 0 {
			return changes, pos, err
		}
		q.Since = pos
		if caughtUp {
			select {
			case <-ctx.Done():
				return nil, pos, ctx.Err()
			case <-moved:
			}
		}
	}
}

// ReadChanges is Changes that also says whether it read up to the latest
// move: a reader that found nothing and is not caught up reads on before
// it waits for a move (as WaitChanges does).
func (r *Repo) ReadChanges(ctx context.Context, q ChangesQuery) (changes []objects.Change, pos uint64, caughtUp bool, err error) {
	f, err := r.changeFeed()
	if err != nil {
		return nil, q.Since, false, err
	}
	if q.Limit <= 0 {
		q.Limit = DefaultChangesLimit
	}
	q.Limit = min(q.Limit, MaxChangesLimit)
	moves, latest, err := f.Moves(ctx, q.Since, q.Limit)
	if errors.Is(err, objects.ErrFeedReset) {
		return nil, latest, false, err
	}
	if err != nil {
		return nil, q.Since, false, err
	}
	pos = q.Since
	for _, m := range moves {
		pos = m.Seq
		branch := strings.TrimPrefix(m.Ref, objects.BranchPrefix)
		if q.Branch != "" && branch != q.Branch {
			continue
		}
		c, err := r.describeMove(ctx, m, branch, q.Prefix)
		if err != nil {
			return nil, q.Since, false, err
		}
		if q.Prefix == "" || len(c.Keys) > 0 || c.KeysUnknown {
			changes = append(changes, c)
		}
	}
	if len(moves) < q.Limit {
		pos, caughtUp = latest, true // read in the same transaction as the moves
	}
	return changes, pos, caughtUp, nil
}

// describeMove tells one move with its author and the keys it changed
// under prefix.
func (r *Repo) describeMove(ctx context.Context, m objects.BranchMove, branch, prefix string) (objects.Change, error) {
	c := objects.Change{Seq: m.Seq, Branch: branch, Time: m.Time, Keys: []string{}}
	var roots [2]objects.ID
	for i, id := range []objects.ID{m.Old, m.New} {
		if id.IsZero() {
			continue
		}
		commit, err := r.ReadCommit(ctx, id)
		if errors.Is(err, objects.ErrNotFound) {
			c.KeysUnknown = true
			continue
		}
		if err != nil {
			return c, err
		}
		roots[i] = commit.Index
		if i == 1 {
			c.Author, c.CommitTime = &commit.Author, &commit.Time
		}
	}
	if !m.Old.IsZero() {
		c.Old = &m.Old
	}
	if !m.New.IsZero() {
		c.New = &m.New
	}
	if c.KeysUnknown {
		return c, nil
	}
	err := r.tree.Diff(ctx, roots[0], roots[1], prefix, func(d prolly.Change) error {
		if !strings.HasPrefix(d.Key, prefix) {
			return nil
		}
		if len(c.Keys) == MaxChangeKeys {
			c.KeysTruncated = true
			return prolly.ErrStop
		}
		c.Keys = append(c.Keys, d.Key)
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("change %d on %s: %w", m.Seq, branch, err)
	}
	return c, nil
}
