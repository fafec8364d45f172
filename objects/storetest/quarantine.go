package storetest

import (
	"errors"
	"testing"

	"github.com/folio-db/folio/objects"
)

func openQuarantine(t *testing.T, s objects.Store) objects.Quarantine {
	t.Helper()
	q, err := s.Quarantine(t.Context())
	if err != nil {
		t.Fatalf("Quarantine: %v", err)
	}
	t.Cleanup(func() { q.Discard() })
	return q
}

// visible lists which of objs the store (not a quarantine) shows, to Has,
// Get and Objects alike.
func visible(t *testing.T, s objects.Store, objs []objects.Object) map[objects.ID]bool {
	t.Helper()
	listed := map[objects.ID]bool{}
	for _, id := range objectIDs(t, s, nil) {
		listed[id] = true
	}
	out := map[objects.ID]bool{}
	for _, o := range objs {
		has, err := s.Has(t.Context(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, gerr := s.Get(t.Context(), o.ID)
		if has != (gerr == nil) || has != listed[o.ID] {
			t.Errorf("%s: Has %v, Get error %v, listed %v", o.ID.Short(), has, gerr, listed[o.ID])
		}
		if has {
			out[o.ID] = true
		}
	}
	return out
}

// Quarantined objects are seen through their quarantine only.
func testQuarantineHidden(t *testing.T, s objects.Store) {
	stored, waiting := blob("stored"), blob("waiting")
	mustPut(t, s, stored)
	q, other := openQuarantine(t, s), openQuarantine(t, s)
	if err := q.Put(t.Context(), waiting); err != nil {
		t.Fatal(err)
	}
	for _, o := range []objects.Object{stored, waiting} {
		if data, err := q.Get(t.Context(), o.ID); err != nil || string(data) != string(o.Data) {
			t.Errorf("quarantine Get(%s): %q, %v", o.ID.Short(), data, err)
		}
		if ok, err := q.Has(t.Context(), o.ID); !ok || err != nil {
			t.Errorf("quarantine Has(%s): %v, %v", o.ID.Short(), ok, err)
		}
	}
	if got := visible(t, s, []objects.Object{waiting}); len(got) > 0 {
		t.Error("the store shows a quarantined object")
	}
	if ok, _ := other.Has(t.Context(), waiting.ID); ok {
		t.Error("another quarantine shows a quarantined object")
	}
}

// Promote makes visible what keep accepts, with the refs; the rest goes.
func testQuarantinePromote(t *testing.T, s objects.Store) {
	objs := blobs("pack", 10)
	q := openQuarantine(t, s)
	if err := q.Put(t.Context(), objs...); err != nil {
		t.Fatal(err)
	}
	keep := func(id objects.ID) bool { return id != objs[3].ID }
	if err := q.Promote(t.Context(), keep, objects.RefUpdate{Name: "refs/heads/main", New: objs[9].ID}); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	got := visible(t, s, objs)
	for i, o := range objs {
		if got[o.ID] != (i != 3) {
			t.Errorf("object %d visible: %v", i, got[o.ID])
		}
	}
	wantRef(t, s, "refs/heads/main", objs[9].ID)
	if err := q.Discard(); err != nil {
		t.Errorf("Discard after Promote: %v", err)
	}
	if len(visible(t, s, objs)) != 9 {
		t.Error("Discard after Promote dropped promoted objects")
	}
}

// A ref that is not at its old value promotes nothing.
func testQuarantineRefChanged(t *testing.T, s objects.Store) {
	old := blob("old")
	mustPut(t, s, old)
	mustUpdate(t, s, objects.RefUpdate{Name: "refs/heads/main", New: old.ID})
	objs := blobs("pack", 5)
	q := openQuarantine(t, s)
	if err := q.Put(t.Context(), objs...); err != nil {
		t.Fatal(err)
	}
	all := func(objects.ID) bool { return true }
	err := q.Promote(t.Context(), all, objects.RefUpdate{Name: "refs/heads/main", New: objs[0].ID})
	if !errors.Is(err, objects.ErrRefChanged) {
		t.Fatalf("Promote with a stale old value: %v, want ErrRefChanged", err)
	}
	if got := visible(t, s, objs); len(got) > 0 {
		t.Errorf("a refused Promote left %d objects visible", len(got))
	}
	wantRef(t, s, "refs/heads/main", old.ID)
}

// Discard drops everything; the store is as before.
func testQuarantineDiscard(t *testing.T, s objects.Store) {
	objs := blobs("pack", 5)
	q := openQuarantine(t, s)
	if err := q.Put(t.Context(), objs...); err != nil {
		t.Fatal(err)
	}
	if err := q.Discard(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := q.Has(t.Context(), objs[0].ID); ok {
		t.Error("a discarded quarantine still has its objects")
	}
	if got := visible(t, s, objs); len(got) > 0 {
		t.Errorf("Discard left %d objects visible", len(got))
	}
}

// More objects than one transaction of the store takes are all promoted.
func testQuarantineLarge(t *testing.T, s objects.Store) {
	var objs []objects.Object
	for i := range 96 {
		objs = append(objs, sized(64<<10+i))
	}
	q := openQuarantine(t, s)
	if err := q.Put(t.Context(), objs...); err != nil {
		t.Fatal(err)
	}
	all := func(objects.ID) bool { return true }
	if err := q.Promote(t.Context(), all, objects.RefUpdate{Name: "refs/heads/main", New: objs[0].ID}); err != nil {
		t.Fatalf("Promote of 6 MiB: %v", err)
	}
	if got := visible(t, s, objs); len(got) != len(objs) {
		t.Errorf("%d of %d objects promoted", len(got), len(objs))
	}
	wantRef(t, s, "refs/heads/main", objs[0].ID)
}
