package server

import (
	"context"
	"fmt"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// commitReader reads commits (a repo.Repo).
type commitReader interface {
	ReadCommit(ctx context.Context, id objects.ID) (*objects.Commit, error)
}

// DefaultMaxClockSkew is how far ahead of the server's clock a pushed
// commit's commit time may be by default.
const DefaultMaxClockSkew = 10 * time.Minute

// checkCommitTimes refuses a push whose new commits carry a commit time
// more than skew ahead of now: conflict winners go by commit time, so a
// leader whose clock runs fast must not be able to win every conflict (and
// drag every later commit's time along). The error says by how much the
// sender's clock is ahead, measured on its latest commit. Author dates are
// not checked: they decide nothing.
func checkCommitTimes(ctx context.Context, r commitReader, commits []objects.ID, now time.Time, skew time.Duration) error {
	var latest time.Time
	var latestID objects.ID
	for _, id := range commits {
		c, err := r.ReadCommit(ctx, id)
		if err != nil {
			return err
		}
		if c.CommitTime.After(latest) {
			latest, latestID = c.CommitTime, id
		}
	}
	if ahead := latest.Sub(now); ahead > skew {
		return fmt.Errorf("%w: the sender's clock is ahead of the server's by %s: commit %s has commit time %s, the server's clock reads %s and accepts at most %s ahead (set the sender's clock right, or serve with a larger --max-clock-skew)",
			wire.ErrClockAhead, ahead.Round(time.Second), latestID.Short(),
			latest.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), skew)
	}
	return nil
}
