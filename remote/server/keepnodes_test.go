package server_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// A push's nodes go into the repository's tree (Received.KeepNodes) only
// if the push promoted them: a node that arrived but that no ref of the
// push reaches is neither stored nor held decoded, by a plain push or a
// converging one. A tree holding a node its store lacks would read and
// compare maps the store cannot send.
func TestPushKeepsInTheTreeOnlyTheNodesItStored(t *testing.T) {
	t.Parallel()
	for _, converge := range []bool{false, true} {
		dst, src := newRepo(t), newRepo(t)
		ctx := context.Background()
		c0 := commitDocs(t, dst, mainRef, map[string]string{"a": "1"}, time.Unix(1e9, 0))
		err := dst.Store().Objects(ctx, nil, func(id objects.ID, data []byte) error {
			return src.Store().Put(ctx, objects.Object{ID: id, Data: bytes.Clone(data)})
		})
		if err == nil {
			err = src.Store().UpdateRefs(ctx, objects.RefUpdate{Name: mainRef, New: c0})
		}
		if err != nil {
			t.Fatal(err)
		}
		c1 := commitDocs(t, src, mainRef, map[string]string{"b": "2"}, time.Unix(1e9, 0))
		doc := objects.EncodeBlob([]byte("named by no commit"))
		unreached := (&objects.Node{Items: []objects.NodeItem{{Key: "c", Entry: objects.Entry{ID: doc.ID, Kind: objects.KindText, Size: 1}}}}).Encode()
		url := serve(t, dst, server.Options{Now: time.Now})
		c, err := client.New(url, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		req := wire.PushRequest{Converge: converge, Updates: []wire.RefUpdate{{Name: mainRef, Old: c0, New: c1}}}
		_, err = c.Push(ctx, req, func(pw *wire.PackWriter) error {
			for _, o := range append([]objects.Object{doc, unreached}, orderForPush(t, src, c1)...) {
				if err := pw.Write(o); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := headOf(t, dst, mainRef); got != c1 {
			t.Fatalf("converge %v: main at %s, want %s", converge, got.Short(), c1.Short())
		}
		index := readIndex(t, dst, c1)
		if dst.Tree().Cached(index) == nil {
			t.Errorf("converge %v: the index the push stored is not in the tree", converge)
		}
		if left := stored(t, dst, []objects.Object{unreached}); len(left) > 0 {
			t.Fatalf("converge %v: the unreached node was stored", converge)
		}
		if dst.Tree().Cached(unreached.ID) != nil {
			t.Errorf("converge %v: the tree holds node %s, which the store lacks", converge, unreached.ID.Short())
		}
	}
}

func readIndex(t *testing.T, r interface {
	ReadCommit(context.Context, objects.ID) (*objects.Commit, error)
}, id objects.ID) objects.ID {
	t.Helper()
	c, err := r.ReadCommit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Index
}
