package objects

import (
	"context"
	"errors"
	"time"
)

// ErrFeedReset: a change feed was asked for the changes after a sequence
// number it no longer keeps (older than its retention) or never gave out
// (newer than its latest). The reader must read the state again and
// continue from the feed's latest sequence number.
var ErrFeedReset = errors.New("objects: change feed reset")

// DefaultFeedKeep is how many of the latest branch moves a store's change
// feed keeps unless told otherwise.
const DefaultFeedKeep = 10000

// BranchMove is one move of a branch as a store's change feed records it,
// in the same transaction as the move itself.
type BranchMove struct {
	Seq  uint64    // 1, 2, 3 ... in the order the moves committed
	Ref  string    // the full ref name, refs/heads/...
	Old  ID        // zero: the branch was created
	New  ID        // zero: the branch was deleted
	Time time.Time // when the store moved it (its clock, UTC)
}

// ChangeFeed is a store's durable log of branch moves. Each branch that
// UpdateRefs moves gets the next sequence number, written in the same
// transaction as the ref, so the log and the refs never disagree and the
// numbers survive restarts. The log keeps a bounded number of the latest
// moves.
type ChangeFeed interface {
	// Moves returns up to limit moves with Seq > since, oldest first, and
	// the latest sequence number given out (0: none yet). A since older
	// than what the feed keeps, or above latest, is an error wrapping
	// ErrFeedReset (latest is still returned).
	Moves(ctx context.Context, since uint64, limit int) (moves []BranchMove, latest uint64, err error)
	// Moved returns a channel that is closed when this process next records
	// a move. Take it before calling Moves, so a move between the two is
	// not missed.
	Moved() <-chan struct{}
}

// Change is a branch move as readers of a change feed see it: the move and
// what it changed.
type Change struct {
	Seq    uint64 `json:"seq"`
	Branch string `json:"branch"`        // the short name
	Old    *ID    `json:"old,omitempty"` // absent: the branch was created
	New    *ID    `json:"new,omitempty"` // absent: the branch was deleted
	// Keys are the documents whose entry differs between the two commits'
	// indexes, sorted, at most a bounded number of them (KeysTruncated
	// then says there were more). KeysUnknown: the old or new commit is
	// no longer stored (collected after a forced move), so the reader
	// should read the branch again.
	Keys          []string   `json:"keys"`
	KeysTruncated bool       `json:"keys_truncated,omitempty"`
	KeysUnknown   bool       `json:"keys_unknown,omitempty"`
	Author        *Signature `json:"author,omitempty"`      // of the new commit
	CommitTime    *time.Time `json:"commit_time,omitempty"` // of the new commit
	Time          time.Time  `json:"time"`                  // of the move
}
