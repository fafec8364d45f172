package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// TestStoreReadsAnObjectOnce: a command on a served repository that reads
// the same object twice (put and commit read the branch's commit twice)
// asks the server once: objects never change under their ID, and what
// arrived was checked against it. The copy handed out is the caller's.
func TestStoreReadsAnObjectOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRepo(t)
	id := commitOn(t, r, mainRef, map[string]string{"a.txt": "alpha\n"})
	auth := &server.Auth{}
	token, err := auth.AddAdminToken("local-admin/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	var objectReads atomic.Int64
	h := server.New(server.Options{Repos: server.Single(r), Auth: auth})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.URL.Path, wire.PathStoreObject+"/") {
			objectReads.Add(1)
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	s := storeOf(t, srv.URL, token)
	first, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	first[0] ^= 0xff // the caller's copy: changing it changes no later read
	second, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := objects.Verify(id, second); err != nil {
		t.Fatalf("the second read: %v", err)
	}
	if n := objectReads.Load(); n != 1 {
		t.Errorf("two reads of one object made %d requests, want 1", n)
	}
	// An object the server lacks is asked for again: not found is not kept.
	missing := objects.Hash([]byte("nothing"))
	for range 2 {
		if _, err := s.Get(ctx, missing); err == nil {
			t.Fatal("Get of a missing object succeeded")
		}
	}
	if n := objectReads.Load(); n != 3 {
		t.Errorf("two reads of a missing object made %d requests, want 2", n-1)
	}
}

// TestStorePrefetchOneRequest: Prefetch brings many objects in one
// request, and the Gets that follow ask the server nothing; an ID the
// server lacks is left to Get, which reports it.
func TestStorePrefetchOneRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRepo(t)
	var ids []objects.ID
	for i := range 5 {
		ids = append(ids, commitOn(t, r, mainRef, map[string]string{"a.txt": strings.Repeat("x", i+1)}))
	}
	auth := &server.Auth{}
	token, err := auth.AddAdminToken("local-admin/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int64
	h := server.New(server.Options{Repos: server.Single(r), Auth: auth})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		requests.Add(1)
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	s := storeOf(t, srv.URL, token)
	missing := objects.Hash([]byte("nothing"))
	s.Prefetch(ctx, append(slices.Clone(ids), missing))
	if n := requests.Load(); n != 1 {
		t.Fatalf("Prefetch of %d objects made %d requests, want 1", len(ids)+1, n)
	}
	for _, id := range ids {
		data, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := objects.Verify(id, data); err != nil {
			t.Fatal(err)
		}
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("Gets after Prefetch made %d more requests, want none", n-1)
	}
	if _, err := s.Get(ctx, missing); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("Get of an object the server lacks = %v, want not found", err)
	}
}
