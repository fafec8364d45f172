package remote_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote"
)

// Sync and pull with a remote whose branch shares no commit with ours
// refuse, and move nothing on either side, unless asked to merge them.
func TestUnrelatedHistoriesAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub, leader := newRepo(t), newRepo(t)
	hubHead := write(t, hub, map[string]string{"hub.txt": "theirs"})
	mine := write(t, leader, map[string]string{"mine.txt": "ours"})
	extra := objects.BranchPrefix + "extra"
	if err := leader.Store().UpdateRefs(ctx, objects.RefUpdate{Name: extra, New: mine}); err != nil {
		t.Fatal(err)
	}
	origin := remote.Remote{Name: "origin", URL: serve(t, hub, nil)}
	unmoved := func(what string) {
		t.Helper()
		if head(t, hub) != hubHead || head(t, leader) != mine {
			t.Errorf("%s moved a branch", what)
		}
		if id, _ := hub.RefOrZero(ctx, extra); !id.IsZero() {
			t.Errorf("%s pushed another branch", what)
		}
	}
	_, err := remote.Sync(ctx, leader, origin, remote.SyncOptions{})
	if !errors.Is(err, remote.ErrUnrelatedHistories) {
		t.Fatalf("sync with an unrelated remote: %v, want ErrUnrelatedHistories", err)
	}
	unmoved("a refused sync")
	_, err = remote.Pull(ctx, leader, origin, main, "", remote.Options{})
	if !errors.Is(err, remote.ErrUnrelatedHistories) {
		t.Fatalf("pull from an unrelated remote: %v, want ErrUnrelatedHistories", err)
	}
	unmoved("a refused pull")

	rep, err := remote.Sync(ctx, leader, origin, remote.SyncOptions{Options: remote.Options{AllowUnrelated: true}})
	if err != nil {
		t.Fatalf("sync allowed to merge unrelated histories: %v", err)
	}
	if head(t, hub) != head(t, leader) || read(t, hub, "mine.txt") != "ours" || read(t, leader, "hub.txt") != "theirs" {
		t.Errorf("the allowed sync did not merge both: %+v", rep.Branches)
	}
}

// A clone of an empty repository syncs its first commits: an absent
// remote branch is not an unrelated history.
func TestFirstSyncOfACloneOfAnEmptyRepository(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub := newRepo(t)
	url := serve(t, hub, nil)
	leader, _, err := remote.Clone(ctx, url, filepath.Join(t.TempDir(), "l"), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	id := write(t, leader, map[string]string{"first.txt": "1"})
	if _, err := remote.Sync(ctx, leader, remote.Remote{Name: "origin", URL: url}, remote.SyncOptions{}); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	if head(t, hub) != id {
		t.Error("the first sync did not push the first commit")
	}
}
