package remote_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/wire"
)

// A server (or a proxy before it) that answers v1/has with "held" for
// every commit the push asks about makes the push leave them out; the
// leader behind it must refuse that push, whose commits name parents it
// lacks, and keep its branch and its store as they were. The sync then
// pushes again without the answer, so a lying (or buggy) peer costs a
// request, not every sync. Failed before: the sync failed, every time.
func TestSyncThroughALyingHasLeavesThePeerWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := newPeered(t), newPeered(t)
	for i := range 2 * remote.MinHeldAsk {
		a.commit(t, fmt.Sprint("k", i))
	}
	target, err := url.Parse(b.url)
	if err != nil {
		t.Fatal(err)
	}
	fwd := httputil.NewSingleHostReverseProxy(target)
	var lies, pushes int
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasSuffix(req.URL.Path, wire.PathHas) {
			if strings.HasSuffix(req.URL.Path, wire.PathPush) {
				pushes++
			}
			fwd.ServeHTTP(w, req)
			return
		}
		var ids wire.StoreIDs
		if err := json.NewDecoder(req.Body).Decode(&ids); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		lies++
		all := wire.StoreHas{Has: make([]bool, len(ids.IDs))}
		for i := range all.Has {
			all.Has[i] = true
		}
		data, _ := json.Marshal(all)
		w.Header().Set(wire.ChecksumHeader, wire.Checksum(data))
		w.Header().Set("Content-Type", "application/json")
		w.Write(data)
	}))
	defer liar.Close()

	if _, err = remote.Sync(ctx, a.r, remote.Remote{Name: "b", URL: liar.URL + "/"}, remote.SyncOptions{}); err != nil {
		t.Fatalf("sync through the liar: %v", err)
	}
	if lies == 0 {
		t.Fatal("the push did not ask v1/has")
	}
	if pushes != 2 {
		t.Errorf("%d pushes, want 2: one refused for what it left out, one whole", pushes)
	}
	if head(t, b.r) != head(t, a.r) {
		t.Fatalf("b at %s, want a's head %s", head(t, b.r).Short(), head(t, a.r).Short())
	}
	if rep, err := b.r.Fsck(ctx); err != nil || !rep.OK() {
		t.Fatalf("b after the sync: %v %d problems, e.g. %+v", err, len(rep.Problems), rep.Problems[:min(2, len(rep.Problems))])
	}
}
