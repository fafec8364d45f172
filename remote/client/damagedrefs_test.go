package client_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore/damagetest"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

var _ repo.DamagedRefStore = (*client.Store)(nil)

// Damaged refs through the store API, on a real Badger repository whose
// ref names lost a bit on disk, served on 127.0.0.1: the CLI of a served
// repository lists them apart and drops them as an unserved one does
// (fsck --repair, branch -D, tag -d), under the server's write lock and
// with its admin token only; the server refuses a good ref, a missing one
// and a request without a name, changing nothing. Before, client.Store
// had neither, so fsck --repair on a served repository removed nothing.
func TestStoreDamagedRefs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := repo.Init(ctx, t.TempDir(), "", repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	head := commitOn(t, r, mainRef, map[string]string{"a.txt": "a\n"})
	branch, tag := "Gt5sJ1uEo6NaV0iXk3MwQ9rL", "Kq3vT9xLm2PzR7bWn4YcH8dF"
	if err := errors.Join(r.CreateBranch(ctx, branch, head), r.CreateTag(ctx, tag, head)); err != nil {
		t.Fatal(err)
	}
	folio := r.Dir()
	r.Close()
	for _, name := range []string{branch, tag} {
		if _, err := damagetest.Flip(folio, []byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	if r, err = repo.Open(ctx, folio, repo.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	repos := server.Single(r)
	rp, _, err := repos.Get(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	auth := &server.Auth{}
	admin, err := auth.AddAdminToken("local-admin/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	readWrite, err := auth.AddToken("rw", server.ScopeReadWrite, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Options{Repos: repos, Auth: auth}))
	t.Cleanup(srv.Close)
	s := storeOf(t, srv.URL, admin)

	// What the server's own store holds, to compare with.
	local := r.Store().(repo.DamagedRefStore)
	held := func() ([]objects.Ref, []objects.DamagedRef) {
		t.Helper()
		refs, damaged, err := local.CheckedRefs(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return refs, damaged
	}
	wantRefs, wantDamaged := held()
	if len(wantDamaged) != 2 || wantDamaged[0].ID != head || !strings.HasPrefix(wantDamaged[1].Name, objects.TagPrefix) {
		t.Fatalf("the store holds damaged refs %+v; want the branch and the tag, at %s", wantDamaged, head.Short())
	}
	refs, damaged, err := s.CheckedRefs(ctx, "")
	if err != nil || !slices.Equal(refs, wantRefs) || !slices.Equal(damaged, wantDamaged) {
		t.Fatalf("CheckedRefs through the server = %v, %+v, %v; want %v, %+v", refs, damaged, err, wantRefs, wantDamaged)
	}
	if _, damaged, err := s.CheckedRefs(ctx, objects.TagPrefix); err != nil || !slices.Equal(damaged, wantDamaged[1:]) {
		t.Errorf("CheckedRefs of the tags = %+v, %v; want the tag only", damaged, err)
	}

	unchanged := func(what string) {
		t.Helper()
		if refs, damaged := held(); !slices.Equal(refs, wantRefs) || !slices.Equal(damaged, wantDamaged) {
			t.Fatalf("%s changed the refs: %v, damaged %+v", what, refs, damaged)
		}
	}
	for _, tc := range []struct {
		what, token, name string
		want              error
		named             bool // the error names the ref
	}{
		{"a good ref", admin, mainRef, objects.ErrRefNotDamaged, true},
		{"no such ref", admin, objects.BranchPrefix + "nothing", objects.ErrNotFound, true},
		{"no name", admin, "", wire.ErrBadRequest, false},
		{"a read-write token", readWrite, wantDamaged[0].Name, wire.ErrForbidden, false},
		{"no token", "", wantDamaged[0].Name, wire.ErrUnauthorized, false},
	} {
		_, err := storeOf(t, srv.URL, tc.token).DropDamagedRef(ctx, tc.name)
		if !errors.Is(err, tc.want) || tc.named && !strings.Contains(err.Error(), tc.name) {
			t.Errorf("DropDamagedRef of %s: %v; want %v", tc.what, err, tc.want)
		}
		unchanged("DropDamagedRef of " + tc.what)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/"+wire.PathStoreDropDamagedRef, bytes.NewReader([]byte(`{"name": 7}`)))
	req.Header.Set("Authorization", "Bearer "+admin)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.Body.Close() != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a request that is not one: %v, %v; want HTTP 400", resp, err)
	}
	unchanged("a request that is not one")

	// The drop waits for the lock the server's other ref writes take.
	type result struct {
		d   objects.DamagedRef
		err error
	}
	done := make(chan result, 1)
	rp.Writes().Lock()
	go func() {
		d, err := s.DropDamagedRef(ctx, wantDamaged[0].Name)
		done <- result{d, err}
	}()
	time.Sleep(200 * time.Millisecond)
	unchanged("DropDamagedRef while the write lock was held")
	rp.Writes().Unlock()
	if got := <-done; got.err != nil || got.d != wantDamaged[0] {
		t.Fatalf("DropDamagedRef = %+v, %v; want %+v", got.d, got.err, wantDamaged[0])
	}
	if _, err := s.DropDamagedRef(ctx, wantDamaged[0].Name); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("DropDamagedRef of the dropped ref: %v; want ErrNotFound", err)
	}

	// fsck --repair of a served repository: the CLI's repo over the server.
	cli, err := repo.Open(ctx, folio, repo.Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	removed, err := cli.RemoveDamagedRefs(ctx)
	wantRestore := "folio tag " + strings.TrimPrefix(wantDamaged[1].Name, objects.TagPrefix) + " " + head.String()
	if err != nil || len(removed) != 1 || removed[0].DamagedRef != wantDamaged[1] || removed[0].Restore != wantRestore {
		t.Fatalf("RemoveDamagedRefs through the server = %+v, %v; want the tag, with %q", removed, err, wantRestore)
	}
	if refs, damaged := held(); len(damaged) != 0 || !slices.Equal(refs, wantRefs) {
		t.Fatalf("after: refs %v, damaged %+v; want %v only", refs, damaged, wantRefs)
	}
	fsck(t, r)
}
