package badgerstore

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/folio-db/folio/objects"
)

// Types answers for the store's objects, a quarantine's (in memory and
// spilled to the database) and objects held nowhere (0).
func TestTypes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, spill := range []bool{false, true} {
		s := openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
		defer s.Close()
		if spill {
			s.quarantineMemory = 0
		}
		stored := objects.EncodeBlob([]byte("stored"))
		node := (&objects.Node{Items: []objects.NodeItem{{Key: "a", Entry: objects.Entry{ID: stored.ID, Kind: objects.KindText, Size: 6}}}}).Encode()
		if err := s.Put(ctx, stored); err != nil {
			t.Fatal(err)
		}
		qr, err := s.Quarantine(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer qr.Discard()
		if err := qr.Put(ctx, node); err != nil {
			t.Fatal(err)
		}
		nowhere := objects.EncodeBlob([]byte("nowhere")).ID
		got, err := qr.(*quarantine).Types(ctx, []objects.ID{node.ID, nowhere, stored.ID})
		if err != nil {
			t.Fatal(err)
		}
		if want := []objects.Type{objects.TypeNode, 0, objects.TypeBlob}; !slices.Equal(got, want) {
			t.Errorf("spill=%v: quarantine types %v, want %v", spill, got, want)
		}
		got, err = s.Types(ctx, []objects.ID{node.ID, stored.ID})
		if err != nil {
			t.Fatal(err)
		}
		if want := []objects.Type{0, objects.TypeBlob}; !slices.Equal(got, want) {
			t.Errorf("spill=%v: store types %v, want %v (a quarantined object is not the store's)", spill, got, want)
		}
	}
}
