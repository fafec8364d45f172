package remote_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
)

// A served repository collects garbage while it takes pushes. b holds
// commits whose branch was deleted: old and unreachable to its gc. A sync
// from a asks v1/has about them, b answers that it holds them, and a sends
// only its new commit, which b's receive builds on the old ones without
// writing them again. The gc marked before the push moved main and
// sweeps after it: it must keep them. Failed before pins: the sweep
// deleted them under b's main.
func TestServerGCKeepsWhatAPushBuildsOnThroughHas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := newRepo(t), newRepo(t)
	url := serve(t, b, nil)
	rm := remote.Remote{Name: "b", URL: url}
	for i := range remote.MinHeldAsk + 1 {
		write(t, a, map[string]string{fmt.Sprintf("docs/%03d.json", i): fmt.Sprintf(`{"n": %d}`, i)})
	}
	old := head(t, a)
	if _, err := remote.Push(ctx, a, rm, []string{main}, remote.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Store().UpdateRefs(ctx, objects.RefUpdate{Name: main, Old: old}); err != nil {
		t.Fatal(err)
	}
	tip := write(t, a, map[string]string{"docs/new.json": `{"new": true}`})

	synced := false
	_, err := b.GC(ctx, repo.GCOptions{Found: func(objects.ID, int64) {
		if synced {
			return
		}
		synced = true
		rep, err := remote.Sync(ctx, a, rm, remote.SyncOptions{})
		if err != nil {
			t.Fatalf("sync during b's sweep: %v", err)
		}
		if rep.ObjectsSent > 8 {
			t.Fatalf("the sync sent %d objects: b's v1/has answer went unused", rep.ObjectsSent)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !synced {
		t.Fatal("b's gc found nothing to delete: the test tests nothing")
	}
	if got := head(t, b); got != tip {
		t.Fatalf("b's main at %s, want %s", got.Short(), tip.Short())
	}
	rep, err := b.Fsck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("b's main reaches missing objects: %d problems, the first %+v", len(rep.Problems), rep.Problems[0])
	}
}
