package remote_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore/damagetest"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
)

// A clone whose disk flipped bits in a document, in a chunk of a large
// document and in an index node (through a key it holds) is made whole
// from the hub over a real server: reads fail before, fsck is clean after,
// and every document reads as the hub has it.
func TestRepairFromALeader(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub := newRepo(t)
	small, big := string(damagetest.RandomText(1, 3000)), string(damagetest.RandomText(2, 3*repo.SingleBlobMax))
	longKey := "keys/" + string(damagetest.RandomText(3, 120))
	docs := map[string]string{"a.txt": small, "big.txt": big, longKey: "held by a node"}
	for i := range 100 {
		docs[fmt.Sprintf("doc%03d.json", i)] = fmt.Sprintf(`{"n": %d}`, i)
	}
	write(t, hub, docs)
	url := serve(t, hub, nil)

	dir := filepath.Join(t.TempDir(), "clone")
	leader, _, err := remote.Clone(ctx, url, dir, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	leader.Close()
	for _, needle := range []string{small[1000:1100], big[2*repo.SingleBlobMax : 2*repo.SingleBlobMax+100], longKey[20:100]} {
		if _, err := damagetest.Flip(filepath.Join(dir, repo.DirName), []byte(needle)); err != nil {
			t.Fatal(err)
		}
	}
	leader, err = repo.Open(ctx, filepath.Join(dir, repo.DirName), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	if _, e, err := leader.ResolveDocument(ctx, "main", "a.txt"); err == nil {
		if _, err := leader.ReadDocument(ctx, e); !errors.Is(err, objects.ErrDamaged) {
			t.Fatalf("read of the damaged document before the repair: %v", err)
		}
	} else if !errors.Is(err, objects.ErrDamaged) {
		t.Fatal(err)
	}
	before, err := leader.Fsck(ctx)
	if err != nil || len(before.Problems) < 3 {
		t.Fatalf("fsck before the repair: %v, problems %+v", err, before)
	}

	origin, err := remote.Lookup(leader.Files, "origin")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := remote.Repair(ctx, leader, []remote.Remote{origin}, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Fsck.OK() || len(rep.Errors) != 0 {
		t.Fatalf("after the repair: fsck %+v, errors %v", rep.Fsck.Problems, rep.Errors)
	}
	for _, p := range before.Problems {
		if !slices.Contains(rep.Repaired["origin"], p.ID) {
			t.Errorf("%s (%s) is not among the repaired objects", p.ID.Short(), p.Message)
		}
	}
	after, err := leader.Fsck(ctx)
	if err != nil || !after.OK() {
		t.Fatalf("fsck after the repair: %+v %v", after, err)
	}
	for key, want := range docs {
		if got := read(t, leader, key); got != want {
			t.Fatalf("%s reads %d bytes after the repair, want the hub's %d", key, len(got), len(want))
		}
	}
}

// Objects a leader lacks altogether (a commit's document, and then what a
// missing commit reaches) are fetched by ID as well, round after round;
// what no remote has is left and reported.
func TestRepairMissingObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub := newRepo(t)
	write(t, hub, map[string]string{"a": "alpha", "b": "beta"})
	tip := write(t, hub, map[string]string{"c": "gamma"})
	url := serve(t, hub, nil)

	// The leader holds the hub's objects but the blob of "a" and the tip
	// commit, and a branch at the tip.
	store := memstore.New()
	leader, err := repo.Init(ctx, t.TempDir(), "", repo.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	lost := objects.EncodeBlob([]byte("alpha")).ID
	err = hub.Store().Objects(ctx, nil, func(id objects.ID, data []byte) error {
		if id == lost || id == tip {
			return nil
		}
		return store.Put(ctx, objects.Object{ID: id, Data: bytes.Clone(data)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.UpdateRefs(ctx, objects.RefUpdate{Name: main, New: tip}); err != nil {
		t.Fatal(err)
	}
	if err := remote.Add(leader.Files, "hub", url); err != nil {
		t.Fatal(err)
	}
	hubRemote, _ := remote.Lookup(leader.Files, "hub")
	rep, err := remote.Repair(ctx, leader, []remote.Remote{hubRemote}, remote.Options{})
	if err != nil || !rep.Fsck.OK() {
		t.Fatalf("repair: %v, fsck after %+v", err, rep.Fsck)
	}
	got := rep.Repaired["hub"]
	if !slices.Contains(got, tip) || !slices.Contains(got, lost) {
		t.Errorf("repaired %v, want the tip commit and the blob of a", got)
	}
	if read(t, leader, "a") != "alpha" {
		t.Error("a does not read after the repair")
	}

	// An object no remote has stays a problem, and the repair ends.
	ghost := objects.EncodeBlob([]byte("nobody has this"))
	root, err := leader.Tree().Edit(ctx, objects.ID{}, []repo.Edit{{Key: "ghost", Entry: objects.Entry{ID: ghost.ID, Kind: objects.KindText, Size: 15}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := leader.WriteCommit(ctx, &objects.Commit{Index: root, Height: 1, Author: objects.Signature{Name: "t", Email: "t@example.com"}, Time: tick()})
	if err != nil {
		t.Fatal(err)
	}
	store.UpdateRefs(ctx, objects.RefUpdate{Name: objects.TagPrefix + "ghost", New: c})
	rep, err = remote.Repair(ctx, leader, []remote.Remote{hubRemote}, remote.Options{})
	if err != nil || rep.Fsck.OK() || len(rep.Fsck.Problems) != 1 || rep.Fsck.Problems[0].ID != ghost.ID {
		t.Fatalf("repair of an object no remote has: %v, fsck after %+v", err, rep.Fsck)
	}
}
