package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/folio-db/folio/objects"
)

// Run checks that the stores open returns meet the objects.Store contract.
// open must return a fresh, empty store each time it is called; Run closes
// it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) objects.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s objects.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"GetMissing", testGetMissing},
		{"CallerOwnsBytes", testCallerOwnsBytes},
		{"PutTwice", testPutTwice},
		{"DamagedReadsFail", testDamagedReadsFail},
		{"ManyObjects", testManyObjects},
		{"ObjectsPrefix", testObjectsPrefix},
		{"ObjectsStopsOnError", testObjectsStopsOnError},
		{"RefMissing", testRefMissing},
		{"RefsListing", testRefsListing},
		{"CreateMoveDelete", testCreateMoveDelete},
		{"WrongOld", testWrongOld},
		{"BatchAllOrNothing", testBatchAllOrNothing},
		{"InvalidNames", testInvalidNames},
		{"SameRefTwice", testSameRefTwice},
		{"EmptyBatch", testEmptyBatch},
		{"ConcurrentCAS", testConcurrentCAS},
		{"ConcurrentDisjoint", testConcurrentDisjoint},
		{"NoLostUpdates", testNoLostUpdates},
		{"PutCancelled", testPutCancelled},
		{"ObjectsCancelled", testObjectsCancelled},
		{"QuarantineHidden", testQuarantineHidden},
		{"QuarantinePromote", testQuarantinePromote},
		{"QuarantineRefChanged", testQuarantineRefChanged},
		{"QuarantineDiscard", testQuarantineDiscard},
		{"QuarantineLarge", testQuarantineLarge},
		{"Feed", testFeed},
		{"FeedOfPromote", testFeedOfPromote},
		{"FeedConcurrent", testFeedConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// blob returns a small blob object whose content is text.
func blob(text string) objects.Object { return objects.EncodeBlob([]byte(text)) }

// blobs returns n distinct small blobs named by tag.
func blobs(tag string, n int) []objects.Object {
	objs := make([]objects.Object, n)
	for i := range objs {
		objs[i] = blob(fmt.Sprintf("%s %d", tag, i))
	}
	return objs
}

// sized returns a blob of exactly size content bytes with a pattern that
// does not compress to nothing.
func sized(size int) objects.Object {
	content := make([]byte, size)
	x := uint32(size) | 1
	for i := range content {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		content[i] = byte('a' + x%26)
	}
	return objects.EncodeBlob(content)
}

func mustPut(t *testing.T, s objects.Store, objs ...objects.Object) {
	t.Helper()
	if err := s.Put(t.Context(), objs...); err != nil {
		t.Fatalf("Put of %d objects: %v", len(objs), err)
	}
}

func mustUpdate(t *testing.T, s objects.Store, updates ...objects.RefUpdate) {
	t.Helper()
	if err := s.UpdateRefs(t.Context(), updates...); err != nil {
		t.Fatalf("UpdateRefs(%v): %v", updates, err)
	}
}

// wantRef checks that name points at want; a zero want means absent.
func wantRef(t *testing.T, s objects.Store, name string, want objects.ID) {
	t.Helper()
	got, err := s.Ref(t.Context(), name)
	switch {
	case want.IsZero() && err == nil:
		t.Errorf("Ref(%s) = %s, want absent", name, got.Short())
	case want.IsZero() && !isNotFound(err):
		t.Errorf("Ref(%s) of an absent ref: %v, want objects.ErrNotFound", name, err)
	case !want.IsZero() && err != nil:
		t.Errorf("Ref(%s): %v, want %s", name, err, want.Short())
	case !want.IsZero() && got != want:
		t.Errorf("Ref(%s) = %s, want %s", name, got.Short(), want.Short())
	}
}

func isNotFound(err error) bool { return errors.Is(err, objects.ErrNotFound) }

// objectIDs lists what Objects visits under prefix, checking each object's
// bytes on the way.
func objectIDs(t *testing.T, s objects.Store, prefix []byte) []objects.ID {
	t.Helper()
	var ids []objects.ID
	err := s.Objects(t.Context(), prefix, func(id objects.ID, data []byte) error {
		if err := objects.Verify(id, data); err != nil {
			t.Errorf("Objects gave bytes for %s that fail Verify: %v", id.Short(), err)
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		t.Fatalf("Objects(%x): %v", prefix, err)
	}
	return ids
}
