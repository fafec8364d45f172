package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/transfer"
	"github.com/folio-db/folio/remote/wire"
)

// servedStore serves a real Badger repository on 127.0.0.1 with tokens and
// returns it, its URL and the admin token folio serve would put in
// serve.json.
func servedStore(t *testing.T) (*repo.Repo, string, *server.Auth, string) {
	t.Helper()
	r := newRepo(t)
	auth := &server.Auth{}
	token, err := auth.AddAdminToken("local-admin/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(r), Auth: auth}))
	t.Cleanup(srv.Close)
	return r, srv.URL, auth, token
}

func storeOf(t *testing.T, url, token string) *client.Store {
	t.Helper()
	c, err := client.New(url, client.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return client.NewStore(c)
}

// A repository opened on the HTTP store commits through the server: the
// server's store holds the commit and its branch, fsck is clean, and the
// server's change feed recorded the move (it went through UpdateRefs).
func TestStoreCommitThroughServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	served, url, _, token := servedStore(t)
	r, err := repo.Open(ctx, served.Dir(), repo.Options{Store: storeOf(t, url, token)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	id := commitOn(t, r, mainRef, map[string]string{"a.txt": "alpha\n", "b/c.json": `{"x":1}`})
	if got := refOf(t, served, mainRef); got != id {
		t.Fatalf("the server's main is %s, want %s", got.Short(), id.Short())
	}
	c, err := served.ReadCommit(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	e, err := served.Lookup(ctx, c.Index, "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	data, err := served.ReadDocument(ctx, e)
	if err != nil || !bytes.Contains(data, []byte("alpha")) {
		t.Fatalf("the server reads a.txt as %q, %v", data, err)
	}
	fsck(t, served)
	moves, _, err := served.Store().(objects.ChangeFeed).Moves(ctx, 0, 10)
	if err != nil || len(moves) != 1 || moves[0].New != id {
		t.Fatalf("the feed has %+v, %v; want one move to %s", moves, err, id.Short())
	}
	// The client reads what it wrote back through the server.
	rep, err := r.Fsck(ctx)
	if err != nil || !rep.OK() || rep.Objects == 0 {
		t.Fatalf("fsck through the server: %+v, %v", rep, err)
	}
}

// The server's checks on what the store API receives: each must refuse
// the request and leave every ref as it was.
func TestStoreRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	served, url, auth, token := servedStore(t)
	base := commitOn(t, served, mainRef, map[string]string{"a.txt": "a\n"})
	other := commitOn(t, served, objects.BranchPrefix+"other", map[string]string{"b.txt": "b\n"})
	before := refsOf(t, served)
	good, bad := objects.EncodeBlob([]byte("good")), objects.EncodeBlob([]byte("evil"))
	readWrite, err := auth.AddToken("rw", server.ScopeReadWrite, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
		apply func(s *client.Store) error
		want  error
	}{
		{"bad hash", token, func(s *client.Store) error {
			s.Put(ctx, objects.Object{ID: good.ID, Data: bad.Data})
			return s.UpdateRefs(ctx, objects.RefUpdate{Name: mainRef, Old: base, New: other})
		}, objects.ErrCorrupt},
		{"ref at a blob", token, func(s *client.Store) error {
			s.Put(ctx, good)
			return s.UpdateRefs(ctx, objects.RefUpdate{Name: mainRef, Old: base, New: good.ID})
		}, objects.ErrCorrupt},
		{"working-set ref at a commit", token, func(s *client.Store) error {
			return s.UpdateRefs(ctx, objects.RefUpdate{Name: repo.WorkingSetRef(mainRef), New: other})
		}, objects.ErrCorrupt},
		{"stale old value", token, func(s *client.Store) error {
			return s.UpdateRefs(ctx, objects.RefUpdate{Name: mainRef, Old: other, New: other})
		}, objects.ErrRefChanged},
		{"no token", "", func(s *client.Store) error {
			_, err := s.Ref(ctx, mainRef)
			return err
		}, wire.ErrUnauthorized},
		{"a read-write token is not enough", readWrite, func(s *client.Store) error {
			return s.UpdateRefs(ctx, objects.RefUpdate{Name: mainRef, Old: base, New: other})
		}, wire.ErrForbidden},
		{"a read-write token does not read", readWrite, func(s *client.Store) error {
			_, err := s.Get(ctx, base)
			return err
		}, wire.ErrForbidden},
	}
	for _, tc := range tests {
		err := tc.apply(storeOf(t, url, tc.token))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if !sameRefs(before, refsOf(t, served)) {
			t.Fatalf("%s: refs moved: %v", tc.name, refsOf(t, served))
		}
	}
	if ok, _ := served.Store().Has(ctx, good.ID); ok {
		t.Error("an object of a refused apply is stored")
	}
	// A missing object is ErrNotFound, and a missing ref too.
	s := storeOf(t, url, token)
	if _, err := s.Get(ctx, good.ID); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("Get of a missing object: %v", err)
	}
	if _, err := s.Ref(ctx, objects.BranchPrefix+"nothing"); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("Ref of a missing ref: %v", err)
	}
}

// A bad ref name is refused by the server itself, not only by the client.
func TestStoreApplyBadRefName(t *testing.T) {
	t.Parallel()
	served, url, _, token := servedStore(t)
	base := commitOn(t, served, mainRef, map[string]string{"a.txt": "a\n"})
	before := refsOf(t, served)
	for _, name := range []string{"refs/heads/../x", "refs/heads/a\x00b", "", "refs/heads/ends/"} {
		var body bytes.Buffer
		wire.WriteFrame(&body, wire.StoreApply{Updates: []wire.RefUpdate{{Name: name, New: base}}})
		pw := wire.NewPackWriter(&body, wire.WriterOptions{})
		pw.Close()
		req, _ := http.NewRequest(http.MethodPost, url+"/"+wire.PathStoreApply, &body)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("apply to %q: HTTP %d, want 400", name, resp.StatusCode)
		}
	}
	if !sameRefs(before, refsOf(t, served)) {
		t.Fatalf("refs moved: %v", refsOf(t, served))
	}
}

// CLI commits through the store API and document API writes race on one
// branch: compare-and-swap makes a CLI commit that lost the race fail
// with ErrRefChanged (it tries again), and no acknowledged write of
// either kind is lost.
func TestStoreNoLostWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	served, url, _, token := servedStore(t)
	commitOn(t, served, mainRef, map[string]string{"seed": "0"})
	r, err := repo.Open(ctx, served.Dir(), repo.Options{Store: storeOf(t, url, token)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const n = 15
	var keys []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range n {
			key := fmt.Sprintf("api/%d", i)
			req, _ := http.NewRequest(http.MethodPut, url+"/"+wire.PathDocs+"/"+key+"?branch=main", strings.NewReader("api"))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				mu.Lock()
				keys = append(keys, key)
				mu.Unlock()
			}
		}
	}()
	lost := 0
	go func() {
		defer wg.Done()
		for i := range n {
			key := fmt.Sprintf("cli/%d", i)
			for {
				e, err := r.WriteDocumentBytes(ctx, []byte("cli"))
				if err != nil {
					t.Error(err)
					return
				}
				_, err = r.CommitEdits(ctx, mainRef, []repo.Edit{{Key: key, Entry: e}}, repo.CommitOptions{Message: key,
					Author: objects.Signature{Name: "t", Email: "t@example.com"}}, nil)
				if errors.Is(err, objects.ErrRefChanged) {
					lost++
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				break
			}
			mu.Lock()
			keys = append(keys, key)
			mu.Unlock()
		}
	}()
	wg.Wait()
	if len(keys) != 2*n {
		t.Fatalf("%d writes acknowledged, want %d", len(keys), 2*n)
	}
	c, err := served.ReadCommit(ctx, refOf(t, served, mainRef))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if _, err := served.Lookup(ctx, c.Index, key); err != nil {
			t.Errorf("acknowledged write of %s lost: %v", key, err)
		}
	}
	fsck(t, served)
	t.Logf("%d CLI commits lost a race and were tried again", lost)
}

// Past its limit a Store sends what it holds on its own (a big import
// stays bounded in memory) and the commit still moves the branch; a
// quarantine past its limit refuses more, and nothing of it is stored.
func TestStoreLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	served, url, _, token := servedStore(t)
	s := storeOf(t, url, token)
	client.SetStoreLimits(s, 2<<10, 4<<10)
	r, err := repo.Open(ctx, served.Dir(), repo.Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	docs := map[string]string{}
	for i := range 40 {
		docs[fmt.Sprintf("d/%02d.txt", i)] = strings.Repeat(fmt.Sprintf("document %d\n", i), 20)
	}
	before, err := served.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := r.WriteDocumentBytes(ctx, []byte(docs["d/00.txt"]))
	if err != nil {
		t.Fatal(err)
	}
	for _, content := range docs {
		if _, err := r.WriteDocumentBytes(ctx, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := served.Store().Has(ctx, first.ID); !ok || err != nil {
		t.Fatalf("past its limit the store still holds what was put: %v, %v", ok, err)
	}
	id := commitOn(t, r, mainRef, docs)
	if refOf(t, served, mainRef) != id {
		t.Fatal("the commit did not move the server's main")
	}
	fsck(t, served)
	after, err := served.Stats(ctx)
	if err != nil || after.Objects < before.Objects+40 {
		t.Fatalf("the server holds %d objects after, %d before (%v)", after.Objects, before.Objects, err)
	}

	q, err := s.Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	big := objects.EncodeBlob(bytes.Repeat([]byte("q"), 8<<10))
	if err := q.Put(ctx, big); !errors.Is(err, client.ErrQuarantineFull) || !errors.Is(err, objects.ErrTooLarge) {
		t.Fatalf("a quarantine past its limit: %v", err)
	}
	q.Discard()
	if ok, _ := served.Store().Has(ctx, big.ID); ok {
		t.Error("a refused quarantine's object is stored")
	}
}

// A pack received into a Store's quarantine has the references it makes
// to the server's objects checked in batches (transfer.BatchReader), with
// the same verdicts as one at a time: a document entry naming a stored
// commit, or an object neither the pack nor the server holds, or one the
// pack brings only later, is refused; a pack building on stored objects
// is taken, and Admit keeps what arrived and was not stored already.
func TestStoreQuarantineChecksReferencesInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	served, url, _, token := servedStore(t)
	base := commitOn(t, served, mainRef, map[string]string{"a.txt": "a\n"})
	stored := objects.EncodeBlob([]byte("a\n"))
	if ok, _ := served.Store().Has(ctx, stored.ID); !ok {
		t.Fatal("the stored blob is not stored")
	}
	leafOf := func(id objects.ID) objects.Object {
		return (&objects.Node{Items: []objects.NodeItem{{Key: "k", Entry: objects.Entry{ID: id, Kind: objects.KindText, Size: 2}}}}).Encode()
	}
	fresh := objects.EncodeBlob([]byte("fresh\n"))
	good := leafOf(stored.ID)
	next := (&objects.Commit{Index: good.ID, Parents: []objects.ID{base}, Height: 2, Time: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}).Encode()
	tests := []struct {
		name string
		objs []objects.Object
		want error // nil: taken
	}{
		{"entry names a stored commit", []objects.Object{leafOf(base)}, transfer.ErrBadReference},
		{"entry names nothing", []objects.Object{leafOf(objects.Hash([]byte("nothing")))}, transfer.ErrMissingReference},
		{"entry before its blob", []objects.Object{leafOf(fresh.ID), fresh}, transfer.ErrMissingReference},
		{"on stored objects", []objects.Object{good, stored, next}, nil},
	}
	for _, tc := range tests {
		qr, err := storeOf(t, url, token).Quarantine(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pack bytes.Buffer
		pw := wire.NewPackWriter(&pack, wire.WriterOptions{})
		for _, o := range tc.objs {
			pw.Write(o)
		}
		pw.Close()
		got, err := transfer.Receive(ctx, qr, wire.NewPackReader(&pack, wire.Limits{}))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if err == nil {
			keep, err := transfer.Admit(ctx, qr, storeOf(t, url, token), got, next.ID)
			if err != nil {
				t.Fatalf("%s: admit: %v", tc.name, err)
			}
			if !keep(next.ID) || !keep(good.ID) || keep(base) {
				t.Errorf("%s: admit keeps the new commit %v, its leaf %v, the stored parent %v; want true, true, false",
					tc.name, keep(next.ID), keep(good.ID), keep(base))
			}
		}
		qr.Discard()
	}
}

// Types answers for objects put and not sent, objects the server holds,
// and objects neither holds, in the order asked.
func TestStoreTypes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	served, url, _, token := servedStore(t)
	c := commitOn(t, served, mainRef, map[string]string{"a.txt": "a\n"})
	s := storeOf(t, url, token)
	put := objects.EncodeBlob([]byte("put, not sent"))
	if err := s.Put(ctx, put); err != nil {
		t.Fatal(err)
	}
	missing := objects.Hash([]byte("nothing"))
	got, err := s.Types(ctx, []objects.ID{missing, c, put.ID, objects.EncodeBlob([]byte("a\n")).ID})
	want := []objects.Type{0, objects.TypeCommit, objects.TypeBlob, objects.TypeBlob}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Types: %v, %v; want %v", got, err, want)
	}
}

// SendPack has the server make the pack: it brings the objects a commit
// reaches, counted, and a want the server lacks is ErrNotFound.
func TestStoreSendPack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	served, url, _, token := servedStore(t)
	c := commitOn(t, served, mainRef, map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	s := storeOf(t, url, token)
	var pack bytes.Buffer
	pw := wire.NewPackWriter(&pack, wire.WriterOptions{})
	st, err := s.SendPack(ctx, pw, []objects.ID{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pw.Close()
	// a commit, its index leaf and conflicts map, two blobs
	if st.Commits != 1 || st.Objects < 4 {
		t.Errorf("SendPack: %+v, want 1 commit and at least 4 objects", st)
	}
	dst := newRepo(t)
	if _, err := transfer.Receive(ctx, dst.Store(), wire.NewPackReader(&pack, wire.Limits{})); err != nil {
		t.Fatalf("the pack SendPack made: %v", err)
	}
	if ok, _ := dst.Store().Has(ctx, c); !ok {
		t.Error("the pack lacks the commit")
	}
	if _, err := s.SendPack(ctx, wire.NewPackWriter(io.Discard, wire.WriterOptions{}), []objects.ID{objects.Hash([]byte("nothing"))}, nil); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("SendPack of a commit the server lacks: %v, want not found", err)
	}
}
