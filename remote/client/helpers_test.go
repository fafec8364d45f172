package client_test

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/transfer"
	"github.com/folio-db/folio/remote/wire"
)

const mainRef = objects.BranchPrefix + "main"

func newRepo(t testing.TB) *repo.Repo {
	t.Helper()
	r, err := repo.Init(context.Background(), t.TempDir(), "", repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

var ticks atomic.Int64

// commitOn commits documents on a branch; every commit gets a later time.
func commitOn(t testing.TB, r *repo.Repo, branchRef string, docs map[string]string) objects.ID {
	t.Helper()
	ctx := context.Background()
	var edits []repo.Edit
	for k, v := range docs {
		e, err := r.WriteDocumentBytes(ctx, []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		edits = append(edits, repo.Edit{Key: k, Entry: e})
	}
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ticks.Add(1)) * time.Minute)
	id, err := r.CommitEdits(ctx, branchRef, edits, repo.CommitOptions{Message: "commit", Time: when,
		Author: objects.Signature{Name: "t", Email: "t@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func refOf(t testing.TB, r *repo.Repo, name string) objects.ID {
	t.Helper()
	id, err := r.RefOrZero(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// serveRepo serves a repository on 127.0.0.1 and returns a client for it.
func serveRepo(t testing.TB, r *repo.Repo, opts server.Options, copts client.Options) *client.Client {
	t.Helper()
	opts.Repos = server.Single(r)
	srv := httptest.NewServer(server.New(opts))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, copts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fetchAll brings every branch and tag of the server into r, moving r's
// refs of the same names, through one real fetch.
func fetchAll(t testing.TB, c *client.Client, r *repo.Repo) {
	t.Helper()
	ctx := context.Background()
	refs, err := r.Store().Refs(ctx, "refs/")
	if err != nil {
		t.Fatal(err)
	}
	var haves []objects.ID
	for _, ref := range refs {
		haves = append(haves, ref.ID)
	}
	err = c.Fetch(ctx, wire.FetchRequest{Haves: haves}, wire.Limits{}, func(resp *wire.FetchResponse, pr *wire.PackReader) error {
		if _, err := transfer.Receive(ctx, r.Store(), pr); err != nil {
			return err
		}
		for _, ref := range resp.Refs {
			old := refOf(t, r, ref.Name)
			if old != ref.ID {
				if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: ref.Name, Old: old, New: ref.ID}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// push sends the updates with a pack of what their new commits need
// beyond haves, as a leader would.
func push(ctx context.Context, c *client.Client, src *repo.Repo, req wire.PushRequest, haves ...objects.ID) (*wire.PushResponse, error) {
	var wants []objects.ID
	for _, u := range req.Updates {
		if !u.New.IsZero() {
			wants = append(wants, u.New)
		}
	}
	return c.Push(ctx, req, func(pw *wire.PackWriter) error {
		_, err := transfer.Send(ctx, src.Store(), pw, wants, haves)
		return err
	})
}

// pushObjects sends the updates with a pack of exactly these objects.
func pushObjects(ctx context.Context, c *client.Client, src *repo.Repo, req wire.PushRequest, ids ...objects.ID) (*wire.PushResponse, error) {
	return c.Push(ctx, req, func(pw *wire.PackWriter) error {
		for _, id := range ids {
			data, err := src.Store().Get(ctx, id)
			if err != nil {
				return err
			}
			if err := pw.Write(objects.Object{ID: id, Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
}

// refsOf is every ref of a repository, for checking that nothing moved.
func refsOf(t testing.TB, r *repo.Repo) map[string]objects.ID {
	t.Helper()
	refs, err := r.Store().Refs(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]objects.ID{}
	for _, ref := range refs {
		out[ref.Name] = ref.ID
	}
	return out
}

func sameRefs(a, b map[string]objects.ID) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// fsck fails the test unless every object is sound and every ref's
// closure is stored.
func fsck(t testing.TB, r *repo.Repo) {
	t.Helper()
	rep, err := r.Fsck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("fsck: %+v", rep.Problems)
	}
}
