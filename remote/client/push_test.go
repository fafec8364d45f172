package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// pair is a hub served over HTTP and a leader that fetched it.
type pair struct {
	hub, leader *repo.Repo
	c           *client.Client
	base        objects.ID // main on both after the fetch
}

func newPair(t *testing.T, opts server.Options) pair {
	t.Helper()
	p := pair{hub: newRepo(t), leader: newRepo(t)}
	docs := map[string]string{}
	for i := range 300 {
		docs[fmt.Sprintf("docs/%03d.json", i)] = fmt.Sprintf(`{"i": %d}`, i)
	}
	p.base = commitOn(t, p.hub, mainRef, docs)
	p.c = serveRepo(t, p.hub, opts, client.Options{})
	fetchAll(t, p.c, p.leader)
	if refOf(t, p.leader, mainRef) != p.base {
		t.Fatal("the leader did not get main")
	}
	return p
}

// A fast-forward push moves the branch and stores the whole closure; the
// reply says what moved.
func TestPushFastForward(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, server.Options{})
	next := commitOn(t, p.leader, mainRef, map[string]string{"docs/007.json": `{"i": "seven"}`, "new.txt": "new\n"})
	upd := wire.RefUpdate{Name: mainRef, Old: p.base, New: next}
	resp, err := push(ctx, p.c, p.leader, wire.PushRequest{Updates: []wire.RefUpdate{upd}}, p.base)
	if err != nil {
		t.Fatal(err)
	}
	if refOf(t, p.hub, mainRef) != next || len(resp.Updated) != 1 || resp.Updated[0] != upd || resp.Objects == 0 || resp.Objects > 8 {
		t.Fatalf("hub at %s; reply %+v", refOf(t, p.hub, mainRef).Short(), resp)
	}
	fsck(t, p.hub)
}

// A push that would drop commits from a branch is refused with
// wire.ErrNonFastForward (the sentinel survives the wire) and moves
// nothing; forced with the right lease it goes through.
func TestPushNonFastForward(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, server.Options{})
	onHub := commitOn(t, p.hub, mainRef, map[string]string{"hub.txt": "hub\n"})
	diverged := commitOn(t, p.leader, mainRef, map[string]string{"leader.txt": "leader\n"})
	before := refsOf(t, p.hub)

	_, err := push(ctx, p.c, p.leader, wire.PushRequest{Updates: []wire.RefUpdate{{Name: mainRef, Old: onHub, New: diverged}}}, p.base)
	if !errors.Is(err, wire.ErrNonFastForward) || errors.Is(err, objects.ErrRefChanged) {
		t.Fatalf("non-fast-forward push: %v, want wire.ErrNonFastForward", err)
	}
	if !strings.Contains(err.Error(), "would lose commits") {
		t.Errorf("the refusal does not say why: %v", err)
	}
	if !sameRefs(before, refsOf(t, p.hub)) {
		t.Fatal("a refused push moved refs")
	}

	// A tag moves only when forced.
	if err := p.hub.CreateTag(ctx, "v1", p.base); err != nil {
		t.Fatal(err)
	}
	_, err = push(ctx, p.c, p.leader, wire.PushRequest{Updates: []wire.RefUpdate{{Name: "refs/tags/v1", Old: p.base, New: diverged}}}, p.base)
	if !errors.Is(err, wire.ErrNonFastForward) || refOf(t, p.hub, "refs/tags/v1") != p.base {
		t.Fatalf("moving a tag without force: %v", err)
	}

	// Forced, naming the value it replaces: accepted.
	_, err = push(ctx, p.c, p.leader, wire.PushRequest{Force: true, Updates: []wire.RefUpdate{{Name: mainRef, Old: onHub, New: diverged}}}, p.base)
	if err != nil || refOf(t, p.hub, mainRef) != diverged {
		t.Fatalf("forced push with the right lease: %v", err)
	}
}

// A push whose update names a commit the server does not end up with, or
// whose pack lacks what its objects reference, is refused, moves no ref,
// and stores no commit without its closure.
func TestPushWithMissingObjects(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, server.Options{})
	next := commitOn(t, p.leader, mainRef, map[string]string{"docs/001.json": `{"i": "one"}`})
	c, err := p.leader.ReadCommit(ctx, next)
	if err != nil {
		t.Fatal(err)
	}
	before := refsOf(t, p.hub)
	upd := []wire.RefUpdate{{Name: mainRef, Old: p.base, New: next}}

	_, err = pushObjects(ctx, p.c, p.leader, wire.PushRequest{Updates: upd})
	if !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("an update to a commit that was not sent: %v, want not found", err)
	}
	_, err = pushObjects(ctx, p.c, p.leader, wire.PushRequest{Updates: upd}, next)
	if err == nil {
		t.Error("a pack holding the commit without its index was accepted")
	}
	_, err = pushObjects(ctx, p.c, p.leader, wire.PushRequest{Updates: upd}, next, c.Index)
	if err == nil {
		t.Error("a pack with a commit before its index was accepted")
	}
	newBlob := objects.EncodeBlob([]byte(`{"i": "one"}`)).ID
	_, err = pushObjects(ctx, p.c, p.leader, wire.PushRequest{Updates: upd}, c.Index, next)
	if err == nil {
		t.Error("a pack with the index root but not the new leaf and blob was accepted")
	}
	// A ref may only point at a commit.
	if err := p.hub.Store().Put(ctx, objects.EncodeBlob([]byte(`{"i": "one"}`))); err != nil {
		t.Fatal(err)
	}
	_, err = pushObjects(ctx, p.c, p.leader, wire.PushRequest{Updates: []wire.RefUpdate{{Name: mainRef, Old: p.base, New: newBlob}}})
	if !errors.Is(err, objects.ErrCorrupt) {
		t.Errorf("an update to a blob: %v, want corrupt", err)
	}
	if !sameRefs(before, refsOf(t, p.hub)) {
		t.Fatal("a refused push moved refs")
	}
	if ok, _ := p.hub.Store().Has(ctx, next); ok {
		t.Fatal("the hub stored a commit whose closure never arrived")
	}
	fsck(t, p.hub)
}

// A pack that references what it did not send is the sender's fault: the
// server says so (a client error with a message), not "internal error".
func TestPushWithMissingObjectsIsClientError(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, server.Options{})
	next := commitOn(t, p.leader, mainRef, map[string]string{"docs/001.json": `{"i": "one"}`})
	_, err := pushObjects(ctx, p.c, p.leader, wire.PushRequest{Updates: []wire.RefUpdate{{Name: mainRef, Old: p.base, New: next}}}, next)
	if errors.Is(err, wire.ErrInternal) || !errors.Is(err, objects.ErrCorrupt) {
		t.Fatalf("a pack missing references: %v, want a corrupt-pack error", err)
	}
}

// Only branches and tags replicate: a push naming a working set, a
// remote-tracking ref or anything else is refused whole, even next to a
// valid update.
func TestPushRefusesRefsThatDoNotReplicate(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, server.Options{})
	next := commitOn(t, p.leader, mainRef, map[string]string{"x": "x"})
	before := refsOf(t, p.hub)
	for _, tc := range []struct {
		name string
		want error
	}{
		{repo.WorkingSetRef(mainRef), wire.ErrBadRequest},
		{"refs/remotes/origin/main", wire.ErrBadRequest},
		{"HEAD", wire.ErrBadRequest},
		{"refs/notes/x", wire.ErrBadRequest},
		{"refs/heads/a..b", objects.ErrInvalidRef},
		{"refs/heads/x.lock", objects.ErrInvalidRef},
		{mainRef, objects.ErrInvalidRef}, // main twice in one push
	} {
		updates := []wire.RefUpdate{{Name: mainRef, Old: p.base, New: next}, {Name: tc.name, New: next}}
		_, err := push(ctx, p.c, p.leader, wire.PushRequest{Updates: updates, Force: true}, p.base)
		if !errors.Is(err, tc.want) {
			t.Errorf("push of %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if !sameRefs(before, refsOf(t, p.hub)) {
		t.Fatal("a refused push moved refs")
	}
}

// A forced push still names the value it replaces: a stale lease is
// refused with ref_changed and moves nothing.
func TestForcedPushWithStaleLease(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, server.Options{})
	moved := commitOn(t, p.hub, mainRef, map[string]string{"hub.txt": "hub\n"})
	rewrite := commitOn(t, p.leader, mainRef, map[string]string{"leader.txt": "leader\n"})
	before := refsOf(t, p.hub)
	for _, lease := range []objects.ID{p.base, {}, objects.Hash([]byte("never seen"))} {
		_, err := push(ctx, p.c, p.leader, wire.PushRequest{Force: true, Updates: []wire.RefUpdate{{Name: mainRef, Old: lease, New: rewrite}}}, p.base)
		if !errors.Is(err, objects.ErrRefChanged) {
			t.Errorf("forced push with lease %s: %v, want ref changed", lease.Short(), err)
		}
	}
	// Deleting needs the right value too (on a branch the server is not on:
	// that one cannot be deleted at all).
	side := objects.BranchPrefix + "side"
	if err := p.hub.Store().UpdateRefs(ctx, objects.RefUpdate{Name: side, New: moved}); err != nil {
		t.Fatal(err)
	}
	before = refsOf(t, p.hub)
	_, err := push(ctx, p.c, p.leader, wire.PushRequest{Force: true, Updates: []wire.RefUpdate{{Name: side, Old: p.base}}})
	if !errors.Is(err, objects.ErrRefChanged) {
		t.Errorf("delete with a stale value: %v", err)
	}
	if !sameRefs(before, refsOf(t, p.hub)) || refOf(t, p.hub, mainRef) != moved {
		t.Fatal("a push with a stale lease moved refs")
	}
}

// The updates of one push move together or not at all.
func TestAtomicMultiRefPush(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, server.Options{})
	for _, b := range []string{"dev", "prod"} {
		if err := p.hub.CreateBranch(ctx, b, p.base); err != nil {
			t.Fatal(err)
		}
	}
	movedProd := commitOn(t, p.hub, objects.BranchPrefix+"prod", map[string]string{"prod.txt": "hot fix\n"})
	next := commitOn(t, p.leader, mainRef, map[string]string{"feature.json": `{"on": true}`})
	before := refsOf(t, p.hub)

	updates := []wire.RefUpdate{
		{Name: mainRef, Old: p.base, New: next},
		{Name: objects.BranchPrefix + "dev", Old: p.base, New: next},
		{Name: objects.BranchPrefix + "new", New: next},
		{Name: objects.TagPrefix + "v2", New: next},
		{Name: objects.BranchPrefix + "prod", Old: p.base, New: next}, // stale: prod moved
	}
	_, err := push(ctx, p.c, p.leader, wire.PushRequest{Updates: updates, Force: true}, p.base)
	if !errors.Is(err, objects.ErrRefChanged) {
		t.Fatalf("push with one stale update: %v", err)
	}
	if !sameRefs(before, refsOf(t, p.hub)) {
		t.Fatalf("a push with one stale update moved refs:\nbefore %v\nafter  %v", before, refsOf(t, p.hub))
	}

	updates[4].Old = movedProd
	if _, err := push(ctx, p.c, p.leader, wire.PushRequest{Updates: updates, Force: true}, p.base); err != nil {
		t.Fatal(err)
	}
	for _, u := range updates {
		if got := refOf(t, p.hub, u.Name); got != next {
			t.Errorf("%s at %s after the push, want %s", u.Name, got.Short(), next.Short())
		}
	}
}
