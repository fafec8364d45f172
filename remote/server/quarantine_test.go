package server_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/transfer/transfertest"
	"github.com/folio-db/folio/remote/wire"
)

// pushPack pushes objs as they are, with one update of main.
func pushPack(t *testing.T, url string, old, new objects.ID, objs ...objects.Object) error {
	t.Helper()
	c, err := client.New(url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Push(context.Background(), wire.PushRequest{Updates: []wire.RefUpdate{{Name: mainRef, Old: old, New: new}}},
		func(pw *wire.PackWriter) error {
			for _, o := range objs {
				if err := pw.Write(o); err != nil {
					return err
				}
			}
			return nil
		})
	return err
}

// stored lists which of objs the repository holds.
func stored(t *testing.T, r *repo.Repo, objs []objects.Object) []string {
	t.Helper()
	var out []string
	for _, o := range objs {
		ok, err := r.Store().Has(context.Background(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out = append(out, o.ID.Short())
		}
	}
	return out
}

func fsckClean(t *testing.T, r *repo.Repo) {
	t.Helper()
	rep, err := r.Fsck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("fsck: %+v", rep.Problems)
	}
}

// A refused push leaves none of its objects, so a later push with an empty
// pack cannot move a branch onto the commit it brought.
func TestRefusedPushLeavesNothing(t *testing.T) {
	t.Parallel()
	for name, pack := range map[string]func(objects.ID, uint64, time.Time) []objects.Object{
		"map cut elsewhere":          transfertest.ForeignChunking,
		"conflicts map of documents": transfertest.DocumentsAsConflicts,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			c0 := commitDocs(t, r, mainRef, map[string]string{"a": "1"}, time.Unix(1e9, 0))
			url := serve(t, r, server.Options{})
			objs := pack(c0, 2, time.Unix(1e9, 0))
			bad := objs[len(objs)-1].ID
			if err := pushPack(t, url, c0, bad, objs...); !errors.Is(err, objects.ErrCorrupt) {
				t.Fatalf("push of a bad commit: %v, want a corrupt-pack error", err)
			}
			if left := stored(t, r, objs); len(left) > 0 {
				t.Errorf("a refused push left objects %v", left)
			}
			if err := pushPack(t, url, c0, bad); err == nil {
				t.Errorf("an empty pack moved main onto the refused commit")
			}
			if got := headOf(t, r, mainRef); got != c0 {
				t.Errorf("main is at %s, want %s", got.Short(), c0.Short())
			}
			fsckClean(t, r)
		})
	}
}

// A push refused at its ref update (the branch moved on) keeps nothing
// either: the objects were for that update only.
func TestPushRefusedAtUpdateLeavesNothing(t *testing.T) {
	t.Parallel()
	src, dst := newRepo(t), newRepo(t)
	c0 := commitDocs(t, dst, mainRef, map[string]string{"a": "1"}, time.Unix(1e9, 0))
	mine := commitDocs(t, src, mainRef, map[string]string{"mine": "2"}, time.Unix(1e9, 0))
	// src stamps commit times from the real clock: so does this server.
	url := serve(t, dst, server.Options{Now: time.Now})
	var objs []objects.Object
	err := src.Store().Objects(context.Background(), nil, func(id objects.ID, data []byte) error {
		objs = append(objs, objects.Object{ID: id, Data: bytes.Clone(data)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Old is wrong: main is at c0, the push says it is absent.
	err = pushPack(t, url, objects.ID{}, mine, orderForPush(t, src, mine)...)
	if !errors.Is(err, objects.ErrRefChanged) {
		t.Fatalf("push with a stale old value: %v, want ErrRefChanged", err)
	}
	if left := stored(t, dst, objs); len(left) > 0 {
		t.Errorf("a refused push left objects %v", left)
	}
	if got := headOf(t, dst, mainRef); got != c0 {
		t.Errorf("main moved to %s", got.Short())
	}
}

// orderForPush lists the closure of a commit in the order a pack needs
// (what transfer.Send writes), by sending it through a pack writer.
func orderForPush(t *testing.T, r *repo.Repo, c objects.ID) []objects.Object {
	t.Helper()
	ctx := context.Background()
	cm, err := r.ReadCommit(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var out []objects.Object
	add := func(id objects.ID) {
		data, err := r.Store().Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, objects.Object{ID: id, Data: data})
	}
	err = r.Tree().Iterate(ctx, cm.Index, "", "", func(key string, e objects.Entry) error {
		add(e.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One small map: its root is its only node.
	add(cm.Index)
	add(c)
	return out
}

// A push cut off halfway stores nothing, even past the bytes a receiver
// buffers before it writes (16 MiB).
func TestCutPushLeavesNothing(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	c0 := commitDocs(t, r, mainRef, map[string]string{"a": "1"}, time.Unix(1e9, 0))
	url := serve(t, r, server.Options{})
	var objs []objects.Object
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		data := make([]byte, 1<<20)
		for i := range data {
			data[i] = byte(rnd.Uint32())
		}
		objs = append(objs, objects.EncodeBlob(data))
	}
	var body bytes.Buffer
	if err := wire.WriteFrame(&body, wire.PushRequest{Updates: []wire.RefUpdate{{Name: mainRef, Old: c0, New: c0}}}); err != nil {
		t.Fatal(err)
	}
	pw := wire.NewPackWriter(&body, wire.WriterOptions{})
	for _, o := range objs {
		if err := pw.Write(o); err != nil {
			t.Fatal(err)
		}
	}
	pw.Close()
	cut := body.Bytes()[:body.Len()*9/10]
	resp := call(t, http.MethodPost, url+wire.PathPush, cut, "Content-Type", wire.ContentFramed)
	if resp.status == http.StatusOK {
		t.Fatalf("a cut push succeeded: %s", resp.body)
	}
	if left := stored(t, r, objs); len(left) > 0 {
		t.Errorf("a cut push left %d objects", len(left))
	}
}
