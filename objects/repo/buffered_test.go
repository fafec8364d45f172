package repo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// A Buffered repository reads back what it wrote, stores nothing until
// flush (or a ref update through it), and then all of it.
func TestBufferedStoresOnFlushOrRefUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newTestRepo(t)
	for _, byRef := range []bool{false, true} {
		b, flush := r.Buffered()
		e, err := b.WriteDocumentBytes(ctx, fmt.Appendf(nil, "buffered, by ref update: %v", byRef))
		if err != nil {
			t.Fatal(err)
		}
		idx, err := b.applyEdits(ctx, objects.ID{}, []Edit{{Key: "k", Entry: e}})
		if err != nil {
			t.Fatal(err)
		}
		id, err := b.WriteCommit(ctx, &objects.Commit{Index: idx, Author: ada, Time: time.Unix(1_700_000_000, 0).UTC(), Message: "m"})
		if err != nil {
			t.Fatal(err)
		}
		wrote := []objects.ID{e.ID, idx, id}
		if _, err := b.ReadCommit(ctx, id); err != nil {
			t.Fatalf("reading back what waits: %v", err)
		}
		for _, o := range wrote {
			if ok, err := r.Store().Has(ctx, o); ok || err != nil {
				t.Fatalf("%s stored before flush (%v)", o.Short(), err)
			}
		}
		if _, err := r.ReadCommit(ctx, id); err == nil {
			t.Fatal("the repository read a commit that waits")
		}
		if byRef {
			err = b.Store().UpdateRefs(ctx, objects.RefUpdate{Name: objects.BranchPrefix + "buffered", New: id})
		} else {
			err = flush(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range wrote {
			if ok, err := r.Store().Has(ctx, o); !ok || err != nil {
				t.Errorf("%s not stored after flush (by ref update: %v): %v", o.Short(), byRef, err)
			}
		}
	}
}
