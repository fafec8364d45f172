package memstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/folio-db/folio/objects"
)

var _ objects.ChangeFeed = (*Store)(nil)

// feed is the store's change feed: the last objects.DefaultFeedKeep branch
// moves, numbered from 1.
type feed struct {
	moves  []objects.BranchMove
	latest uint64
	sigMu  sync.Mutex
	moved  chan struct{}
}

// record appends the branch moves among updates; the store's lock is held.
func (f *feed) record(updates []objects.RefUpdate) {
	n := 0
	for _, u := range updates {
		if strings.HasPrefix(u.Name, objects.BranchPrefix) {
			f.latest++
			n++
			f.moves = append(f.moves, objects.BranchMove{Seq: f.latest, Ref: u.Name, Old: u.Old, New: u.New, Time: time.Now().UTC()})
		}
	}
	if extra := len(f.moves) - objects.DefaultFeedKeep; extra > 0 {
		f.moves = append(f.moves[:0:0], f.moves[extra:]...)
	}
	if n > 0 {
		f.sigMu.Lock()
		if f.moved != nil {
			close(f.moved)
			f.moved = nil
		}
		f.sigMu.Unlock()
	}
}

// Moved implements objects.ChangeFeed.
func (s *Store) Moved() <-chan struct{} {
	s.feed.sigMu.Lock()
	defer s.feed.sigMu.Unlock()
	if s.feed.moved == nil {
		s.feed.moved = make(chan struct{})
	}
	return s.feed.moved
}

// Moves implements objects.ChangeFeed.
func (s *Store) Moves(ctx context.Context, since uint64, limit int) ([]objects.BranchMove, uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, 0, errClosed
	}
	f := &s.feed
	oldest := f.latest + 1
	if len(f.moves) > 0 {
		oldest = f.moves[0].Seq
	}
	if since > f.latest || since+1 < oldest {
		return nil, f.latest, fmt.Errorf("%w: since=%d is outside the moves this feed keeps (%d to %d)",
			objects.ErrFeedReset, since, oldest, f.latest)
	}
	from := int(since + 1 - oldest) // moves are numbered without gaps
	to := min(len(f.moves), from+max(limit, 0))
	return append([]objects.BranchMove(nil), f.moves[from:to]...), f.latest, nil
}
