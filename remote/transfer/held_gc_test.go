package transfer

import (
	"context"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
	"github.com/folio-db/folio/remote/wire"
)

// A pack whose new commit names a document the receiver holds but nothing
// names (deleted long ago) writes that document again, so a collection
// that began before the pack arrived (its marks do not see the new
// commit) spares it: badgerstore's gc rule (doc.go) counts on every
// writer freshening what it writes. Failed after the receiver began to
// drop what its store holds: the document kept its old write time, the
// collection deleted it, and main named a missing document.
func TestReceiveFreshensAHeldDocumentAgainstACollection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	content := "an old document nothing names any more"
	dst := newRepo(t, true)
	old := objects.EncodeBlob([]byte(content))
	if err := dst.Store().Put(ctx, old); err != nil {
		t.Fatal(err)
	}
	col, err := dst.Store().(*badgerstore.Store).BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}

	src := newRepo(t, true)
	stage(t, src, map[string]string{"doc.txt": content})
	tip := commit(t, src, "names it again")
	buf := sendPack(t, src, tip, objects.ID{})
	qr, err := dst.Store().Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Receive(ctx, qr, wire.NewPackReader(buf, wire.Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	keep, err := Admit(ctx, qr, dst.Store(), got, tip)
	if err != nil {
		t.Fatal(err)
	}
	if err := qr.Promote(ctx, keep, objects.RefUpdate{Name: main, New: tip}); err != nil {
		t.Fatal(err)
	}
	// The collection marked before the pack: nothing it knows names it.
	if _, err := col.Sweep(ctx, func(objects.ID) bool { return false }, false, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := dst.Fsck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("after a collection that began before the pack: %+v", rep.Problems)
	}
}
