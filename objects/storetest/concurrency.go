package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/folio-db/folio/objects"
)

// testConcurrentCAS: goroutines race to move one ref from the same Old,
// round after round; each round has exactly one winner, every loser gets
// objects.ErrRefChanged, and the ref holds the winner's value.
func testConcurrentCAS(t *testing.T, s objects.Store) {
	const racers, rounds = 12, 8
	old := blob("round start").ID
	mustUpdate(t, s, objects.RefUpdate{Name: mainRef, New: old})
	for round := range rounds {
		errs := make([]error, racers)
		news := make([]objects.ID, racers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range racers {
			news[i] = blob(fmt.Sprintf("round %d racer %d", round, i)).ID
			wg.Go(func() {
				<-start
				errs[i] = s.UpdateRefs(t.Context(), objects.RefUpdate{Name: mainRef, Old: old, New: news[i]})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: racers %d and %d both moved the ref from the same Old", round, winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, objects.ErrRefChanged):
				t.Fatalf("round %d: a losing racer got %v, want objects.ErrRefChanged", round, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no racer moved the ref", round)
		}
		wantRef(t, s, mainRef, news[winner])
		old = news[winner]
	}
}

// testConcurrentDisjoint: updates of different refs at the same time all
// succeed; a store must not report a conflict between them.
func testConcurrentDisjoint(t *testing.T, s objects.Store) {
	const writers, moves = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			name := fmt.Sprintf("refs/heads/writer-%d", w)
			var cur objects.ID
			for m := range moves {
				next := blob(fmt.Sprintf("writer %d move %d", w, m)).ID
				if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: name, Old: cur, New: next}); err != nil {
					errs <- fmt.Errorf("%s move %d: %w", name, m, err)
					return
				}
				cur = next
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range writers {
		wantRef(t, s, fmt.Sprintf("refs/heads/writer-%d", w), blob(fmt.Sprintf("writer %d move %d", w, moves-1)).ID)
	}
}

// testNoLostUpdates is the lost-update test: goroutines increment a shared
// counter held in a ref (read, then compare-and-swap, retrying when it
// changed), each in a batch that also moves a ref of its own. If the
// compare-and-swap ever let two writers move from the same value, an
// increment would be lost and the final count would be short.
func testNoLostUpdates(t *testing.T, s objects.Store) {
	const writers, increments = 6, 15
	const counter = "refs/heads/counter"
	total := writers * increments
	idOf := make([]objects.ID, total+1)
	countOf := make(map[objects.ID]int, total+1)
	for k := range idOf {
		idOf[k] = blob(fmt.Sprintf("count %d", k)).ID
		countOf[idOf[k]] = k
	}
	mustUpdate(t, s, objects.RefUpdate{Name: counter, New: idOf[0]})

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			own := fmt.Sprintf("refs/heads/own-%d", w)
			var ownValue objects.ID
			for done := 0; done < increments; {
				cur, err := s.Ref(t.Context(), counter)
				if err != nil {
					errs <- err
					return
				}
				next := idOf[countOf[cur]+1]
				err = s.UpdateRefs(t.Context(),
					objects.RefUpdate{Name: own, Old: ownValue, New: next},
					objects.RefUpdate{Name: counter, Old: cur, New: next},
				)
				switch {
				case err == nil:
					done++
					ownValue = next
				case !errors.Is(err, objects.ErrRefChanged):
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := s.Ref(t.Context(), counter)
	if err != nil {
		t.Fatal(err)
	}
	if countOf[got] != total {
		t.Fatalf("counter is %d after %d successful increments: updates were lost", countOf[got], total)
	}
}
