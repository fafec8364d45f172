package transfer

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// countingStore counts the reads of each object.
type countingStore struct {
	Store
	gets map[objects.ID]int
}

func (s *countingStore) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	s.gets[id]++
	return s.Store.Get(ctx, id)
}

// A pack of many commits that each change one document of a large index
// carries a new version of the same leaf for each: the stored documents
// that leaf names are looked up in the store once, not once a commit.
// Every reference is still checked (see TestReceiveRefusesMissingReferences).
func TestReceiveLooksUpEachStoredObjectOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := newRepo(t, false), newRepo(t, false)
	stage(t, src, someDocs(2000, "v1"))
	c1 := commit(t, src, "base")
	transfer(t, src, dst, []objects.ID{c1}, nil)
	tip := c1
	for i := range 20 {
		stage(t, src, map[string]string{"docs/01000.json": fmt.Sprintf(`{"edit": %d}`, i)})
		tip = commit(t, src, fmt.Sprintf("edit %d", i))
	}
	var buf bytes.Buffer
	pw := wire.NewPackWriter(&buf, wire.WriterOptions{})
	if _, err := Send(ctx, src.Store(), pw, []objects.ID{tip}, []objects.ID{c1}); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	qr, err := dst.Store().Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Discard()
	cs := &countingStore{Store: qr, gets: map[objects.ID]int{}}
	got, err := Receive(ctx, cs, wire.NewPackReader(&buf, wire.Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Commits != 20 {
		t.Fatalf("received %d commits, want 20", got.Commits)
	}
	for id, n := range cs.gets {
		if n > 1 {
			t.Errorf("%s read %d times", id.Short(), n)
		}
	}
	if len(cs.gets) == 0 {
		t.Error("no stored object was looked up: the references were not checked")
	}
}

// A document copied under a key next to its original (in the same leaf)
// is not sent again: the receiver has it under the old key.
func TestSendSkipsDocumentsTheReceiverHasUnderAnotherKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := newRepo(t, false), newRepo(t, false)
	docs := someDocs(200, "v1")
	stage(t, src, docs)
	c1 := commit(t, src, "base")
	transfer(t, src, dst, []objects.ID{c1}, nil)
	original := docs["docs/00100.json"]
	stage(t, src, map[string]string{"docs/00100.json.copy": original, "docs/00101.json": `{"changed": true}`})
	c2 := commit(t, src, "copy")
	blob, err := src.WriteDocumentBytes(ctx, []byte(original))
	if err != nil {
		t.Fatal(err)
	}
	times := sendOnce(t, src, dst, []objects.ID{c2}, []objects.ID{c1}, memIDs)
	if times[blob.ID] != 0 {
		t.Error("the copied document was sent again")
	}
	changed, err := src.WriteDocumentBytes(ctx, []byte(`{"changed": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if times[changed.ID] != 1 {
		t.Error("the changed document was not sent")
	}
}
