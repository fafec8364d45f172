package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/folio-db/folio/objects"
)

// Ref values used below. Stores do not check that a ref's target is
// stored (that is the commit layer's job), so these need not be put.
var (
	idA = blob("A").ID
	idB = blob("B").ID
	idC = blob("C").ID
)

const mainRef = "refs/heads/main"

func testRefMissing(t *testing.T, s objects.Store) {
	ctx := t.Context()
	if _, err := s.Ref(ctx, mainRef); !isNotFound(err) {
		t.Errorf("Ref of a missing ref: %v, want objects.ErrNotFound", err)
	}
	refs, err := s.Refs(ctx, "")
	if err != nil || len(refs) != 0 {
		t.Errorf("Refs of an empty store = %v, %v", refs, err)
	}
}

func testRefsListing(t *testing.T, s objects.Store) {
	all := []objects.Ref{
		{Name: "refs/heads/a", ID: idA},
		{Name: "refs/heads/feature/x", ID: idB},
		{Name: mainRef, ID: idC},
		{Name: "refs/heads/mainline", ID: idA},
		{Name: "refs/remotes/origin/main", ID: idB},
		{Name: "refs/tags/v1", ID: idC},
		{Name: objects.WorkingSetPrefix + mainRef, ID: idA},
	}
	// Create them in an order that is not the sorted one.
	var updates []objects.RefUpdate
	for _, i := range []int{3, 0, 6, 2, 5, 1, 4} {
		updates = append(updates, objects.RefUpdate{Name: all[i].Name, New: all[i].ID})
	}
	mustUpdate(t, s, updates...)

	for _, tc := range []struct {
		prefix string
		want   []objects.Ref
	}{
		{"", all},
		{"refs/", all[:6]},
		{objects.BranchPrefix, all[:4]},
		{"refs/heads/main", all[2:4]},
		{"refs/heads/main/", nil},
		{objects.TagPrefix, all[5:6]},
		{"refs/notes/", nil},
	} {
		got, err := s.Refs(t.Context(), tc.prefix)
		if err != nil {
			t.Fatalf("Refs(%q): %v", tc.prefix, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Refs(%q) = %v\nwant %v", tc.prefix, got, tc.want)
		}
	}
	wantRef(t, s, "refs/heads/feature/x", idB)
}

func testCreateMoveDelete(t *testing.T, s objects.Store) {
	mustUpdate(t, s, objects.RefUpdate{Name: mainRef, New: idA})
	wantRef(t, s, mainRef, idA)
	mustUpdate(t, s, objects.RefUpdate{Name: mainRef, Old: idA, New: idB})
	wantRef(t, s, mainRef, idB)
	mustUpdate(t, s, objects.RefUpdate{Name: mainRef, Old: idB})
	wantRef(t, s, mainRef, objects.ID{})
	if refs, err := s.Refs(t.Context(), ""); err != nil || len(refs) != 0 {
		t.Errorf("Refs after the only ref was deleted = %v, %v", refs, err)
	}
	// A deleted ref can be created again.
	mustUpdate(t, s, objects.RefUpdate{Name: mainRef, New: idC})
	wantRef(t, s, mainRef, idC)
}

func testWrongOld(t *testing.T, s objects.Store) {
	ctx := t.Context()
	mustUpdate(t, s, objects.RefUpdate{Name: mainRef, New: idA})
	for _, u := range []objects.RefUpdate{
		{Name: mainRef, New: idB},                  // create, but it exists
		{Name: mainRef, Old: idC, New: idB},        // move from a value it does not have
		{Name: mainRef, Old: idC},                  // delete from a value it does not have
		{Name: "refs/heads/x", Old: idA},           // delete a ref that does not exist
		{Name: "refs/heads/x", Old: idA, New: idB}, // move a ref that does not exist
	} {
		err := s.UpdateRefs(ctx, u)
		if !errors.Is(err, objects.ErrRefChanged) {
			t.Errorf("UpdateRefs(%s %s -> %s): %v, want objects.ErrRefChanged", u.Name, u.Old.Short(), u.New.Short(), err)
		}
		wantRef(t, s, mainRef, idA)
		wantRef(t, s, "refs/heads/x", objects.ID{})
	}
}

// testBatchAllOrNothing: one stale Old in a batch and no ref of the batch
// moves; with every Old right, every ref moves (create, move and delete
// mixed in one batch).
func testBatchAllOrNothing(t *testing.T, s objects.Store) {
	const r1, r2, r3 = "refs/heads/one", "refs/heads/two", "refs/tags/three"
	mustUpdate(t, s, objects.RefUpdate{Name: r1, New: idA}, objects.RefUpdate{Name: r2, New: idA})

	for stale := range 3 {
		batch := []objects.RefUpdate{
			{Name: r1, Old: idA, New: idB},
			{Name: r2, Old: idA},
			{Name: r3, New: idC},
		}
		batch[stale].Old = idC
		if err := s.UpdateRefs(t.Context(), batch...); !errors.Is(err, objects.ErrRefChanged) {
			t.Errorf("batch with a stale Old for %s: %v, want objects.ErrRefChanged", batch[stale].Name, err)
		}
		wantRef(t, s, r1, idA)
		wantRef(t, s, r2, idA)
		wantRef(t, s, r3, objects.ID{})
	}

	mustUpdate(t, s,
		objects.RefUpdate{Name: r3, New: idC},
		objects.RefUpdate{Name: r1, Old: idA, New: idB},
		objects.RefUpdate{Name: r2, Old: idA},
	)
	wantRef(t, s, r1, idB)
	wantRef(t, s, r2, objects.ID{})
	wantRef(t, s, r3, idC)
}

func testInvalidNames(t *testing.T, s objects.Store) {
	ctx := t.Context()
	for _, name := range []string{
		"", "refs/heads/", "refs//heads", "refs/heads/a..b", "refs/heads/x.lock",
		"refs/heads/with space", "refs/heads/nul\x00", "refs/heads/.hidden", "refs/heads/x.",
		"refs/heads/a:b", "refs/heads/a@{1}",
	} {
		err := s.UpdateRefs(ctx, objects.RefUpdate{Name: name, New: idA})
		if !errors.Is(err, objects.ErrInvalidRef) {
			t.Errorf("UpdateRefs(%q): %v, want objects.ErrInvalidRef", name, err)
		}
		// A valid update in the same batch must not happen either.
		err = s.UpdateRefs(ctx, objects.RefUpdate{Name: mainRef, New: idA}, objects.RefUpdate{Name: name, New: idB})
		if !errors.Is(err, objects.ErrInvalidRef) {
			t.Errorf("UpdateRefs(mainRef, %q): %v, want objects.ErrInvalidRef", name, err)
		}
		wantRef(t, s, mainRef, objects.ID{})
	}
	if refs, err := s.Refs(ctx, ""); err != nil || len(refs) != 0 {
		t.Errorf("Refs after only invalid updates = %v, %v", refs, err)
	}
}

func testSameRefTwice(t *testing.T, s objects.Store) {
	err := s.UpdateRefs(t.Context(),
		objects.RefUpdate{Name: mainRef, New: idA},
		objects.RefUpdate{Name: "refs/heads/other", New: idA},
		objects.RefUpdate{Name: mainRef, Old: idA, New: idB},
	)
	if !errors.Is(err, objects.ErrInvalidRef) {
		t.Errorf("a batch naming a ref twice: %v, want objects.ErrInvalidRef", err)
	}
	wantRef(t, s, mainRef, objects.ID{})
	wantRef(t, s, "refs/heads/other", objects.ID{})
}

func testEmptyBatch(t *testing.T, s objects.Store) {
	mustUpdate(t, s, objects.RefUpdate{Name: mainRef, New: idA})
	mustUpdate(t, s)
	wantRef(t, s, mainRef, idA)
}
