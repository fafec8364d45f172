package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore/damagetest"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// A document whose stored bytes lost a bit is a 500 with the stable code
// "damaged" and a message naming the key, never a 200 with the changed
// bytes; a large one damaged past its first chunk is cut short, never
// delivered whole. Other documents still read.
func TestGetDamagedDocument(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	r, err := repo.Init(ctx, dir, "", repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	small, big := string(damagetest.RandomText(1, 2000)), string(damagetest.RandomText(2, 3*repo.SingleBlobMax))
	commitDocs(t, r, mainRef, map[string]string{"notes/a.txt": small, "big.txt": big, "ok.txt": "fine"}, t0)
	r.Close()
	for _, needle := range []string{small[500:600], big[2*repo.SingleBlobMax : 2*repo.SingleBlobMax+100]} {
		if _, err := damagetest.Flip(filepath.Join(dir, repo.DirName), []byte(needle)); err != nil {
			t.Fatal(err)
		}
	}
	r, err = repo.Open(ctx, filepath.Join(dir, repo.DirName), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	base := serve(t, r, server.Options{})

	got := call(t, http.MethodGet, base+wire.PathDocs+"/notes/a.txt", nil)
	expect(t, "get of a damaged document", got, http.StatusInternalServerError, "damaged")
	if !strings.Contains(string(got.body), "notes/a.txt") || strings.Contains(string(got.body), small[:50]) {
		t.Errorf("the error body %s does not name the key (or carries content)", got.body)
	}
	expect(t, "get of a good document", call(t, http.MethodGet, base+wire.PathDocs+"/ok.txt", nil), http.StatusOK, "")

	resp, err := http.Get(base + wire.PathDocs + "/big.txt")
	if err != nil {
		return // cut before the status: never delivered
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode == http.StatusOK {
		t.Fatalf("a large damaged document was delivered whole (%d bytes, equal to the original: %v)", len(body), string(body) == big)
	}
}

// A request for objects by ID is bounded: more IDs than one request may
// carry is a 400, and a body that is not a request is one too.
func TestObjectsRequestIsBounded(t *testing.T) {
	t.Parallel()
	base := serve(t, newRepo(t), server.Options{})
	ids := make([]objects.ID, wire.MaxObjectsRequest+1)
	for i := range ids {
		ids[i][0], ids[i][1], ids[i][2] = byte(i), byte(i>>8), byte(i>>16)
	}
	body, err := json.Marshal(wire.ObjectsRequest{IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "too many IDs", call(t, http.MethodPost, base+wire.PathObjects, body), http.StatusBadRequest, "bad_request")
	expect(t, "not JSON", call(t, http.MethodPost, base+wire.PathObjects, []byte("ids")), http.StatusBadRequest, "bad_request")
	expect(t, "one unknown ID", call(t, http.MethodPost, base+wire.PathObjects, []byte(`{"ids": ["`+ids[0].String()+`"]}`)), http.StatusOK, "")
}
