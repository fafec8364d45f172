package remote_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/transfer/transfertest"
	"github.com/folio-db/folio/remote/wire"
)

// hostile serves a fetch whose reply announces refs and sends objs as
// they are, whatever the client asked.
func hostile(t *testing.T, refs []objects.Ref, objs []objects.Object) remote.Remote {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+wire.PathFetch {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", wire.ContentFramed)
		if err := wire.WriteFrame(w, wire.FetchResponse{Head: main, Refs: refs}); err != nil {
			return
		}
		pw := wire.NewPackWriter(w, wire.WriterOptions{})
		for _, o := range objs {
			if pw.Write(o) != nil {
				return
			}
		}
		pw.Close()
	}))
	t.Cleanup(srv.Close)
	return remote.Remote{Name: "origin", URL: srv.URL + "/"}
}

// badPacks are packs a fetch must refuse, on the local head.
func badPacks(t *testing.T, r *repo.Repo, parent objects.ID) map[string][]objects.Object {
	t.Helper()
	p, err := r.ReadCommit(context.Background(), parent)
	if err != nil {
		t.Fatal(err)
	}
	clock := tick()
	return map[string][]objects.Object{
		"conflicts map of documents": transfertest.DocumentsAsConflicts(parent, p.Height+1, clock),
		"map cut elsewhere":          transfertest.ForeignChunking(parent, p.Height+1, clock),
	}
}

func storedOf(t *testing.T, r *repo.Repo, objs []objects.Object) int {
	t.Helper()
	n := 0
	for _, o := range objs {
		if ok, err := r.Store().Has(context.Background(), o.ID); err != nil {
			t.Fatal(err)
		} else if ok {
			n++
		}
	}
	return n
}

// A fetch refused keeps nothing of its pack, so a later fetch that only
// names the refused commit cannot move a ref onto it.
func TestFetchRefusedKeepsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	local := newRepo(t)
	c0 := write(t, local, map[string]string{"a": "1"})
	for name, objs := range badPacks(t, local, c0) {
		bad := objs[len(objs)-1].ID
		refs := []objects.Ref{{Name: main, ID: bad}}
		_, err := remote.Fetch(ctx, local, hostile(t, refs, objs), remote.Options{})
		if !errors.Is(err, objects.ErrCorrupt) {
			t.Errorf("%s: fetch: %v, want a corrupt-pack error", name, err)
		}
		if n := storedOf(t, local, objs); n > 0 {
			t.Errorf("%s: a refused fetch kept %d objects", name, n)
		}
		_, err = remote.Fetch(ctx, local, hostile(t, refs, nil), remote.Options{})
		if err == nil {
			t.Errorf("%s: a fetch naming the refused commit, with no objects, succeeded", name)
		}
		if id, _ := local.RefOrZero(ctx, remote.TrackingRef("origin", main)); !id.IsZero() {
			t.Errorf("%s: the tracking ref moved to %s", name, id.Short())
		}
	}
	rep, err := local.Fsck(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("fsck: %v %+v", err, rep)
	}
}

// What a pack brings that no announced ref reaches is not kept.
func TestFetchKeepsOnlyWhatRefsReach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, local := newRepo(t), newRepo(t)
	c := write(t, src, map[string]string{"a": "1"})
	cm, err := src.ReadCommit(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var objs []objects.Object
	e, _, err := src.Tree().Get(ctx, cm.Index, "a")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []objects.ID{e.ID, cm.Index, c} {
		data, err := src.Store().Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, objects.Object{ID: id, Data: data})
	}
	extra := objects.EncodeBlob([]byte("nobody names me"))
	objs = append([]objects.Object{extra}, objs...)
	if _, err := remote.Fetch(ctx, local, hostile(t, []objects.Ref{{Name: main, ID: c}}, objs), remote.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := storedOf(t, local, objs[1:]); n != 3 {
		t.Errorf("%d of the 3 objects the ref reaches kept", n)
	}
	if n := storedOf(t, local, objs[:1]); n != 0 {
		t.Error("an object no ref reaches was kept")
	}
}
