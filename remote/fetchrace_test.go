package remote_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
)

// A fetch that starts on a repository open read-only reads the refs
// again once it has it writable: another process may move them in
// between (here: the Writable callback, after the writable open). The
// tracking refs still end where the remote's branches are, a branch made
// here in between is left alone (not made again, not moved), and a fetch
// whose ref moves the other process made already succeeds and moves
// nothing. Each case fails if fetch computes its ref moves, or their
// compare-and-swap olds, from the read-only open.
func TestFetchRereadsRefsOnceWritable(t *testing.T) {
	t.Parallel()
	for name, between := range map[string]func(t *testing.T, r *repo.Repo, hubMain, topic objects.ID){
		"the tracking ref moved elsewhere": func(t *testing.T, r *repo.Repo, _, topic objects.ID) {
			update(t, r, objects.RefUpdate{Name: remote.TrackingRef("origin", main), New: topic})
		},
		"the tracking ref deleted": func(t *testing.T, r *repo.Repo, _, _ objects.ID) {
			update(t, r, objects.RefUpdate{Name: remote.TrackingRef("origin", main)})
		},
		"the same fetch made already": func(t *testing.T, r *repo.Repo, hubMain, topic objects.ID) {
			update(t, r, objects.RefUpdate{Name: remote.TrackingRef("origin", main), New: hubMain},
				objects.RefUpdate{Name: remote.TrackingRef("origin", objects.BranchPrefix+"topic"), New: topic},
				objects.RefUpdate{Name: objects.BranchPrefix + "topic", New: topic})
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			hub := newRepo(t)
			old := write(t, hub, map[string]string{"a.json": `{"v": 1}`})
			url := serve(t, hub, nil)
			dir := filepath.Join(t.TempDir(), "clone")
			leader, _, err := remote.Clone(ctx, url, dir, remote.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := leader.Close(); err != nil {
				t.Fatal(err)
			}
			topic := write(t, hub, map[string]string{"b.json": `{"v": 2}`})
			update(t, hub, objects.RefUpdate{Name: objects.BranchPrefix + "topic", New: topic})
			hubMain := write(t, hub, map[string]string{"c.json": `{"v": 3}`})
			// A local branch topic made in between, at another commit: the
			// fetch must not make it again over it.
			localTopic := old

			folio := filepath.Join(dir, repo.DirName)
			ro, err := repo.Open(ctx, folio, repo.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			var rw *repo.Repo
			defer func() {
				if rw != nil {
					rw.Close()
				}
			}()
			origin, err := remote.Lookup(ro.Files, "origin")
			if err != nil {
				t.Fatal(err)
			}
			writable := func(ctx context.Context) (*repo.Repo, error) {
				if err := ro.Close(); err != nil {
					return nil, err
				}
				if rw, err = repo.Open(ctx, folio, repo.Options{Short: true}); err != nil {
					return nil, err
				}
				between(t, rw, hubMain, topic)
				if name != "the same fetch made already" {
					update(t, rw, objects.RefUpdate{Name: objects.BranchPrefix + "topic", New: localTopic})
				}
				return rw, nil
			}
			if _, err := remote.Fetch(ctx, ro, origin, remote.Options{Writable: writable}); err != nil {
				t.Fatalf("fetch: %v", err)
			}
			if rw == nil {
				t.Fatal("the fetch brought commits and never asked for the repository writable")
			}
			want := map[string]objects.ID{
				remote.TrackingRef("origin", main):                         hubMain,
				remote.TrackingRef("origin", objects.BranchPrefix+"topic"): topic,
				objects.BranchPrefix + "topic":                             localTopic,
			}
			if name == "the same fetch made already" {
				want[objects.BranchPrefix+"topic"] = topic
			}
			for ref, id := range want {
				if got, err := rw.RefOrZero(ctx, ref); err != nil || got != id {
					t.Errorf("%s is %s (%v), want %s", ref, got.Short(), err, id.Short())
				}
			}
			assertHas(t, rw, hubMain)
		})
	}
}

// update moves refs from wherever they are.
func update(t *testing.T, r *repo.Repo, updates ...objects.RefUpdate) {
	t.Helper()
	for i, u := range updates {
		old, err := r.RefOrZero(context.Background(), u.Name)
		if err != nil {
			t.Fatal(err)
		}
		updates[i].Old = old
	}
	if err := r.Store().UpdateRefs(context.Background(), updates...); err != nil {
		t.Fatal(err)
	}
}

// assertHas fails unless r holds commit id and its index.
func assertHas(t *testing.T, r *repo.Repo, id objects.ID) {
	t.Helper()
	c, err := r.ReadCommit(context.Background(), id)
	if err == nil {
		_, err = r.Store().Get(context.Background(), c.Index)
	}
	if err != nil {
		t.Errorf("commit %s: %v", id.Short(), err)
	}
}
