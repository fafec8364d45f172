package badgerstore

import (
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
)

// TestFeedEdges checks Moves against a model of the feed at every since
// from 0 past the latest (and the largest), for limits 1 to 3: on an
// empty feed, then after a restart with the same, a larger and a smaller
// FeedKeep than the one that trimmed it. The moves kept are the stored
// ones no older than the last FeedKeep; a since before them or past the
// latest is ErrFeedReset, a since at the latest gives nothing.
func TestFeedEdges(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	s := openTemp(t, dir, Options{Create: true, FeedKeep: 4})
	checkFeedModel(t, s, 0, 0, 4)
	const moves = 10
	prev := objects.ID{}
	for i := range moves {
		next := docBlob(i + 1).ID
		moveRef(t, s, "refs/heads/main", prev, next)
		prev = next
	}
	first := uint64(moves - 4 + 1) // what FeedKeep 4 left stored
	checkFeedModel(t, s, first, moves, 4)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []int{4, 8, 2} {
		s := openTemp(t, dir, Options{FeedKeep: keep})
		checkFeedModel(t, s, first, moves, uint64(keep))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// checkFeedModel checks s.Moves for a feed that stores moves first to
// latest (none if latest is 0) and keeps the last keep of them.
func checkFeedModel(t *testing.T, s *Store, first, latest, keep uint64) {
	t.Helper()
	oldest := first
	if latest == 0 {
		oldest = 1
	}
	if latest >= keep {
		oldest = max(oldest, latest-keep+1)
	}
	for _, since := range []uint64{0, 1, 2, first - 1, first, oldest - 1, oldest, latest - 1, latest, latest + 1, latest + 2, math.MaxUint64 - 1, math.MaxUint64} {
		for limit := 1; limit <= 3; limit++ {
			got, gotLatest, err := s.Moves(t.Context(), since, limit)
			reset := since > latest || since+1 < oldest
			if gotLatest != latest || errors.Is(err, objects.ErrFeedReset) != reset || (err != nil && !reset) {
				t.Fatalf("keep %d: Moves(%d, %d) = latest %d, %v; want latest %d, reset %t", keep, since, limit, gotLatest, err, latest, reset)
			}
			if reset {
				continue
			}
			want := min(latest-since, uint64(limit))
			if uint64(len(got)) != want {
				t.Fatalf("keep %d: Moves(%d, %d) = %d moves, want %d", keep, since, limit, len(got), want)
			}
			for i, m := range got {
				if m.Seq != since+1+uint64(i) {
					t.Fatalf("keep %d: Moves(%d, %d)[%d] is move %d, want %d", keep, since, limit, i, m.Seq, since+1+uint64(i))
				}
			}
		}
	}
}
