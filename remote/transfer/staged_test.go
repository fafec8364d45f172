package transfer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/transfer/transfertest"
	"github.com/folio-db/folio/remote/wire"
)

// applyStaged receives objs with ReceiveStaged and admits the updates with
// AdmitRefs, as the store API of a served repository does.
func applyStaged(t *testing.T, dst objects.Store, updates []objects.RefUpdate, objs ...objects.Object) error {
	t.Helper()
	ctx := context.Background()
	qr, err := dst.Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Discard()
	got, err := ReceiveStaged(ctx, qr, wire.NewPackReader(packOf(t, objs...), wire.Limits{}))
	if err != nil {
		return err
	}
	_, err = AdmitRefs(ctx, qr, dst, got, updates...)
	return err
}

// Working sets come in only through ReceiveStaged and AdmitRefs, checked
// as a commit is: what they name has the right type, their maps get the
// full map checks, and only working-set refs may name them.
func TestStagedChecks(t *testing.T) {
	blob := objects.EncodeBlob([]byte("x"))
	leaf := (&objects.Node{Items: []objects.NodeItem{{Key: "a", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}}}}).Encode()
	good := (&objects.WorkingSet{Index: leaf.ID}).Encode()
	foreign := transfertest.ForeignChunking(objects.ID{}, 1, time.Unix(1, 0))
	c, err := objects.DecodeCommit(foreign[len(foreign)-1].Data)
	if err != nil {
		t.Fatal(err)
	}
	foreignWS := (&objects.WorkingSet{Index: c.Index}).Encode()
	ws := func(id objects.ID) []objects.RefUpdate {
		return []objects.RefUpdate{{Name: objects.WorkingSetPrefix + "refs/heads/main", New: id}}
	}
	for _, tc := range []struct {
		name    string
		updates []objects.RefUpdate
		objs    []objects.Object
		ok      bool
	}{
		{"a working set", ws(good.ID), []objects.Object{blob, leaf, good}, true},
		{"index is a blob", ws(blob.ID), []objects.Object{blob, (&objects.WorkingSet{Index: blob.ID}).Encode()}, false},
		{"base is a blob", nil, []objects.Object{blob, leaf, (&objects.WorkingSet{Base: blob.ID, Index: leaf.ID}).Encode()}, false},
		{"a map chunked elsewhere", ws(foreignWS.ID), append(foreign[:len(foreign)-1:len(foreign)-1], foreignWS), false},
		{"a branch at a working set", []objects.RefUpdate{{Name: "refs/heads/main", New: good.ID}}, []objects.Object{blob, leaf, good}, false},
		{"a working-set ref at a blob", ws(blob.ID), []objects.Object{blob}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := applyStaged(t, newRepo(t, false).Store(), tc.updates, tc.objs...)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, objects.ErrCorrupt)) {
				t.Fatalf("apply: %v (want ok=%v, or a corrupt error)", err, tc.ok)
			}
		})
	}
	// Receive, for leaders, still refuses them.
	if err := receivePack(t, newRepo(t, false), nil, blob, leaf, good); !errors.Is(err, objects.ErrCorrupt) {
		t.Fatalf("Receive took a working set: %v", err)
	}
}
