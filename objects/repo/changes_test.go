package repo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/folio-db/folio/objects"
)

func wantChanges(t *testing.T, r *Repo, q ChangesQuery, wantPos uint64, want ...string) []objects.Change {
	t.Helper()
	got, pos, err := r.Changes(context.Background(), q)
	if err != nil {
		t.Fatalf("Changes(%+v): %v", q, err)
	}
	var desc []string
	for _, c := range got {
		desc = append(desc, fmt.Sprintf("%d %s %v", c.Seq, c.Branch, c.Keys))
	}
	if pos != wantPos || !slices.Equal(desc, want) {
		t.Fatalf("Changes(%+v) = %q up to %d, want %q up to %d", q, desc, pos, want, wantPos)
	}
	return got
}

// TestChangesTellWhatMoved: each commit is one change, with the keys its
// commit changed, its author and commit time; Since, Branch and Prefix
// select.
func TestChangesTellWhatMoved(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	ctx := context.Background()
	put(t, r, "a", "1")
	put(t, r, "b/x", "1")
	c1 := commit(t, r, "one", 1)
	put(t, r, "b/x", "2")
	put(t, r, "c", "1")
	c2 := commit(t, r, "two", 2)
	if err := r.CreateBranch(ctx, "dev", c1); err != nil {
		t.Fatal(err)
	}
	got := wantChanges(t, r, ChangesQuery{}, 3, "1 main [a b/x]", "2 main [b/x c]", "3 dev [a b/x]")
	first, second := got[0], got[1]
	if first.Old != nil || *first.New != c1 || *second.Old != c1 || *second.New != c2 {
		t.Errorf("old/new = %v/%v, %v/%v", first.Old, first.New, second.Old, second.New)
	}
	if *second.Author != ada || second.CommitTime.Unix() != 1_700_000_002 || second.Time.IsZero() {
		t.Errorf("second change by %v at %v, moved at %v", second.Author, second.CommitTime, second.Time)
	}
	wantChanges(t, r, ChangesQuery{Since: 1}, 3, "2 main [b/x c]", "3 dev [a b/x]")
	wantChanges(t, r, ChangesQuery{Branch: "dev"}, 3, "3 dev [a b/x]")
	wantChanges(t, r, ChangesQuery{Prefix: "c"}, 3, "2 main [c]")
	wantChanges(t, r, ChangesQuery{Prefix: "b/"}, 3, "1 main [b/x]", "2 main [b/x]", "3 dev [b/x]")
	// A page of moves that match nothing still moves the position on.
	wantChanges(t, r, ChangesQuery{Branch: "none", Limit: 2}, 2)
	wantChanges(t, r, ChangesQuery{Since: 3}, 3)
	if _, _, err := r.Changes(ctx, ChangesQuery{Since: 4}); !errors.Is(err, objects.ErrFeedReset) {
		t.Errorf("since beyond the latest: %v, want ErrFeedReset", err)
	}
	if latest, err := r.LatestChange(ctx); err != nil || latest != 3 {
		t.Errorf("LatestChange = %d, %v", latest, err)
	}
}

// TestChangesBoundKeys: a move that changed more than MaxChangeKeys
// documents lists that many and says it was cut; a move whose commit is
// gone says its keys are unknown.
func TestChangesBoundKeys(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	ctx := context.Background()
	e, err := r.WriteDocumentBytes(ctx, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	var edits []Edit
	for i := range MaxChangeKeys + 5 {
		edits = append(edits, Edit{Key: fmt.Sprintf("k%05d", i), Entry: e})
	}
	if _, err := r.StageEdits(ctx, objects.BranchPrefix+"main", edits); err != nil {
		t.Fatal(err)
	}
	head := commit(t, r, "many", 1)
	gone := objects.EncodeBlob([]byte("never stored")).ID
	if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: objects.BranchPrefix + "main", Old: head, New: gone}); err != nil {
		t.Fatal(err)
	}
	got, _, err := r.Changes(ctx, ChangesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0].Keys) != MaxChangeKeys || !got[0].KeysTruncated || got[0].KeysUnknown {
		t.Fatalf("big change: %d changes, %d keys, truncated %v", len(got), len(got[0].Keys), got[0].KeysTruncated)
	}
	if !got[1].KeysUnknown || len(got[1].Keys) != 0 || got[1].Author != nil {
		t.Errorf("change to a missing commit: %+v", got[1])
	}
}

// TestWaitChanges: WaitChanges returns the next change once it happens,
// and with ctx's error (and nothing) when ctx ends first.
func TestWaitChanges(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	ctx := context.Background()
	put(t, r, "a", "1")
	commit(t, r, "one", 1)

	type result struct {
		changes []objects.Change
		pos     uint64
		err     error
	}
	done := make(chan result)
	go func() {
		cs, pos, err := r.WaitChanges(ctx, ChangesQuery{Since: 1})
		done <- result{cs, pos, err}
	}()
	put(t, r, "b", "1")
	commit(t, r, "two", 2)
	res := <-done
	if res.err != nil || res.pos != 2 || len(res.changes) != 1 || !slices.Equal(res.changes[0].Keys, []string{"b"}) {
		t.Fatalf("WaitChanges = %+v", res)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	cs, pos, err := r.WaitChanges(cancelled, ChangesQuery{Since: 2})
	if !errors.Is(err, context.Canceled) || len(cs) != 0 || pos != 2 {
		t.Errorf("WaitChanges with nothing new and ctx done = %v, %d, %v", cs, pos, err)
	}
}
