package remote_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/wire"
)

// A fetch's nodes go into the repository's tree (Received.KeepNodes) only
// if its promote stored them: a node a server sends that no fetched ref
// reaches is neither stored nor held decoded. A tree holding a node its
// store lacks would read and compare maps the store cannot send.
func TestFetchKeepsInTheTreeOnlyTheNodesItStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := newRepo(t), newRepo(t)
	write(t, src, map[string]string{"a": "1"})
	real := serve(t, src, nil)
	if _, err := remote.Fetch(ctx, dst, remote.Remote{Name: "origin", URL: real}, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	c1 := write(t, src, map[string]string{"b": "2"})
	c, err := src.ReadCommit(ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	doc := objects.EncodeBlob([]byte("named by no commit"))
	unreached := (&objects.Node{Items: []objects.NodeItem{{Key: "c", Entry: objects.Entry{ID: doc.ID, Kind: objects.KindText, Size: 1}}}}).Encode()
	pack := []objects.Object{doc, unreached}
	add := func(id objects.ID) {
		data, err := src.Store().Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		pack = append(pack, objects.Object{ID: id, Data: data})
	}
	err = src.Tree().Iterate(ctx, c.Index, "", "", func(_ string, e objects.Entry) error { add(e.ID); return nil })
	if err != nil {
		t.Fatal(err)
	}
	add(c.Index) // one small map: its root is its only node
	add(c1)
	target, err := url.Parse(real)
	if err != nil {
		t.Fatal(err)
	}
	fwd := httputil.NewSingleHostReverseProxy(target)
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasSuffix(req.URL.Path, wire.PathFetch) {
			fwd.ServeHTTP(w, req)
			return
		}
		w.Header().Set("Content-Type", wire.ContentFramed)
		if err := wire.WriteFrame(w, wire.FetchResponse{Head: main, Refs: []objects.Ref{{Name: main, ID: c1}}}); err != nil {
			return
		}
		pw := wire.NewPackWriter(w, wire.WriterOptions{})
		for _, o := range pack {
			if pw.Write(o) != nil {
				return
			}
		}
		pw.Close()
	}))
	t.Cleanup(hostile.Close)
	if _, err := remote.Fetch(ctx, dst, remote.Remote{Name: "origin", URL: hostile.URL + "/"}, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	if got, err := dst.RefOrZero(ctx, objects.RemotePrefix+"origin/main"); err != nil || got != c1 {
		t.Fatalf("origin/main at %s (%v), want %s", got.Short(), err, c1.Short())
	}
	if dst.Tree().Cached(c.Index) == nil {
		t.Errorf("the index the fetch stored is not in the tree")
	}
	if ok, err := dst.Store().Has(ctx, unreached.ID); ok || err != nil {
		t.Fatalf("the unreached node was stored (%v)", err)
	}
	if dst.Tree().Cached(unreached.ID) != nil {
		t.Errorf("the tree holds node %s, which the store lacks", unreached.ID.Short())
	}
}
