package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/remote/wire"
)

// SendIDs sends what it holds intact of what was asked, once each, and
// leaves out what it lacks or holds damaged; ReceiveIDs stores it, over a
// damaged copy, through a real pack.
func TestSendAndReceiveByID(t *testing.T) {
	ctx := context.Background()
	src := memstore.New()
	a, b, damaged, absent := objects.EncodeBlob([]byte("a")), objects.EncodeBlob([]byte("b")),
		objects.EncodeBlob([]byte("c")), objects.EncodeBlob([]byte("d"))
	src.Put(ctx, a, b, objects.Object{ID: damaged.ID, Data: objects.EncodeBlob([]byte("C")).Data})
	var pack bytes.Buffer
	pw := wire.NewPackWriter(&pack, wire.WriterOptions{})
	ids := []objects.ID{a.ID, damaged.ID, absent.ID, b.ID, a.ID}
	st, err := SendIDs(ctx, src, pw, ids)
	if err != nil || pw.Close() != nil {
		t.Fatal(err)
	}
	if st.Objects != 2 {
		t.Errorf("sent %d objects, want a and b", st.Objects)
	}
	dst := memstore.New()
	dst.Put(ctx, objects.Object{ID: a.ID, Data: b.Data}) // a damaged copy of a
	got, err := ReceiveIDs(ctx, dst, wire.NewPackReader(&pack, wire.Limits{}), ids)
	if err != nil || !slices.Equal(got, []objects.ID{a.ID, b.ID}) {
		t.Fatalf("received %v, %v", got, err)
	}
	if data, err := dst.Get(ctx, a.ID); err != nil || !bytes.Equal(data, a.Data) {
		t.Errorf("the damaged copy of a was not replaced: %v", err)
	}
}

// listPack is a PackReader over a list of objects.
type listPack []objects.Object

func (l *listPack) Next() (objects.Object, error) {
	if len(*l) == 0 {
		return objects.Object{}, io.EOF
	}
	obj := (*l)[0]
	*l = (*l)[1:]
	return obj, nil
}

// A pack that answers a request by ID with an object nobody asked for
// (a remote pushing its own data into a repair) is refused, and nothing of
// its batch is stored.
func TestReceiveByIDRefusesWhatWasNotAsked(t *testing.T) {
	ctx := context.Background()
	asked, other := objects.EncodeBlob([]byte("asked")), objects.EncodeBlob([]byte("other"))
	dst := memstore.New()
	pack := listPack{asked, other}
	got, err := ReceiveIDs(ctx, dst, &pack, []objects.ID{asked.ID})
	if !errors.Is(err, ErrNotAsked) || !errors.Is(err, objects.ErrCorrupt) || len(got) != 0 {
		t.Fatalf("ReceiveIDs of an object not asked for: %v, stored %v", err, got)
	}
	for _, o := range []objects.Object{asked, other} {
		if has, _ := dst.Has(ctx, o.ID); has {
			t.Errorf("%s was stored from a refused pack", o.ID.Short())
		}
	}
	// Twice the same object is once too many.
	pack = listPack{asked, asked}
	if _, err := ReceiveIDs(ctx, dst, &pack, []objects.ID{asked.ID}); !errors.Is(err, ErrNotAsked) {
		t.Errorf("the same object twice: %v", err)
	}
}
