package transfer

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// TestReceiveIntoBulkLoadPastRemembered: a receive into a bulk load (a
// clone's new store) cannot ask the store about what it put, as a load
// shows nothing before it finishes. Past the types it remembers in memory
// (here 10, for a pack of hundreds in batches of 4 KiB), the receiver must
// keep them itself, or the references to the forgotten objects look
// missing.
func TestReceiveIntoBulkLoadPastRemembered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := newRepo(t, true)
	stage(t, src, someDocs(300, "v1"))
	first := commit(t, src, "first")
	stage(t, src, someDocs(40, "v2"))
	head := commit(t, src, "second")

	var pack bytes.Buffer
	pw := wire.NewPackWriter(&pack, wire.WriterOptions{})
	if _, err := Send(ctx, src.Store(), pw, []objects.ID{head}, nil); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	dst := newRepo(t, true)
	load, err := dst.Store().(objects.BulkLoader).BulkLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer load.Discard()
	sizes := receiveSizes{known: 10, batch: 4 << 10}
	got, err := receiveWith(ctx, blindLoad{load}, wire.NewPackReader(&pack, wire.Limits{}), false, sizes)
	if err != nil {
		t.Fatalf("receive into a bulk load remembering 10 types: %v", err)
	}
	if err := load.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := AdmitFresh(ctx, dst.Store(), got, head); err != nil {
		t.Fatal(err)
	}
	assertComplete(t, dst, head)
	assertComplete(t, dst, first)
}

// blindLoad is a bulk load whose Get and Has see nothing, as a load may
// until it finishes (objects.BulkLoad): Badger's shows the tables it
// finished, at moments a test cannot choose.
type blindLoad struct{ objects.BulkLoad }

func (blindLoad) Get(_ context.Context, id objects.ID) ([]byte, error) {
	return nil, fmt.Errorf("%s: %w", id.Short(), objects.ErrNotFound)
}

func (blindLoad) Has(context.Context, objects.ID) (bool, error) { return false, nil }
