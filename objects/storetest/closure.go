package storetest

import (
	"context"
	"testing"

	"github.com/folio-db/folio/objects"
)

// CheckClosed checks that every object s holds, whether a ref reaches it
// or not, has everything it references (objects.References) stored too:
// what a receive that trusts a stored object relies on. It reports the
// first few holes and returns how many objects s holds.
func CheckClosed(t testing.TB, s objects.Store) (stored int) {
	t.Helper()
	ctx := context.Background()
	type ref struct{ from, to objects.ID }
	var refs []ref
	err := s.Objects(ctx, nil, func(id objects.ID, data []byte) error {
		stored++
		ids, err := objects.References(data)
		for _, to := range ids {
			refs = append(refs, ref{id, to})
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	holes := 0
	for _, r := range refs {
		ok, err := s.Has(ctx, r.to)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			if holes++; holes <= 3 {
				t.Errorf("stored object %s references %s, which is gone", r.from.Short(), r.to.Short())
			}
		}
	}
	if holes > 0 {
		t.Errorf("%d references from stored objects lead nowhere", holes)
	}
	return stored
}
