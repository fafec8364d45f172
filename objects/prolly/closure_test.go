package prolly_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/objects/prolly"
)

// closedStore refuses a Put that stores an object before something it
// references: the closure-on-write rule every writer must keep.
type closedStore struct {
	*memstore.Store
	t *testing.T
}

func (s closedStore) Put(ctx context.Context, objs ...objects.Object) error {
	inBatch := map[objects.ID]bool{}
	for _, o := range objs {
		refs, err := objects.References(o.Data)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			if ok, _ := s.Has(ctx, ref); !ok && !inBatch[ref] {
				s.t.Fatalf("node %s stored before its child %s", o.ID.Short(), ref.Short())
			}
		}
		inBatch[o.ID] = true
	}
	return s.Store.Put(ctx, objs...)
}

// Long keys make internal nodes of a single item in the middle of the
// tree; every Put, even of a build cut into many, keeps children first.
func TestPutsStoreChildrenFirst(t *testing.T) {
	ctx := context.Background()
	store := closedStore{memstore.New(), t}
	blob := objects.EncodeBlob([]byte("x"))
	store.Store.Put(ctx, blob)
	tree := prolly.New(store)
	long := strings.Repeat("k", 900)
	var edits []prolly.Edit
	for i := range 12000 {
		edits = append(edits, prolly.Edit{Key: fmt.Sprintf("%s/%06d", long, i), Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}})
	}
	root, err := tree.Edit(ctx, objects.ID{}, edits)
	if err != nil {
		t.Fatal(err)
	}
	// And edits of a tree that deep keep it too.
	for i := 0; i < len(edits); i += 997 {
		if root, err = tree.Edit(ctx, root, []prolly.Edit{{Key: edits[i].Key, Delete: true}}); err != nil {
			t.Fatal(err)
		}
	}
}
