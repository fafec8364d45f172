package remote_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// realNow is "now" in the clock tests; each leader's clock is an offset
// from it.
var realNow = time.Date(2026, 12, 3, 21, 0, 0, 0, time.UTC)

// skewedRepo is a leader whose clock reads realNow + offset.
func skewedRepo(t *testing.T, offset time.Duration) *repo.Repo {
	t.Helper()
	r, err := repo.Init(context.Background(), t.TempDir(), "", repo.Options{Store: memstore.New(),
		Clock: func() time.Time { return realNow.Add(offset) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// serveAt runs a server whose clock reads realNow, refusing commit times
// more than skew ahead of it (zero: the default).
func serveAt(t *testing.T, r *repo.Repo, skew time.Duration) remote.Remote {
	t.Helper()
	srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(r), MaxClockSkew: skew,
		Now: func() time.Time { return realNow }}))
	t.Cleanup(srv.Close)
	return remote.Remote{Name: "hub", URL: srv.URL + "/"}
}

// commitAuthored writes one document and commits it with the given author
// date; the commit time comes from the leader's clock.
func commitAuthored(t *testing.T, r *repo.Repo, key, content string, authorDate time.Time) objects.ID {
	t.Helper()
	ctx := context.Background()
	e, err := r.WriteDocumentBytes(ctx, []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	id, err := r.CommitEdits(ctx, main, []repo.Edit{{Key: key, Entry: e}}, repo.CommitOptions{Message: "write", Time: authorDate,
		Author: objects.Signature{Name: "t", Email: "t@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A server refuses a push whose commits carry a commit time more than the
// bound (10 minutes by default) ahead of its clock, says by how much the
// sender's clock is ahead, and moves nothing. The author date is not
// checked: it is only shown. The bound is the server's to set.
func TestPushRefusesCommitsDatedAheadOfTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub := skewedRepo(t, 0)
	hubRemote := serveAt(t, hub, 0)

	fast := skewedRepo(t, time.Hour)
	commitAuthored(t, fast, "a.txt", "from the future\n", time.Time{})
	_, err := remote.Push(ctx, fast, hubRemote, []string{main}, remote.PushOptions{})
	if !errors.Is(err, wire.ErrClockAhead) {
		t.Fatalf("push of a commit an hour ahead: %v, want ErrClockAhead", err)
	}
	for _, want := range []string{"clock is ahead", "by 1h0m0s", "10m0s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if id := head(t, hub); !id.IsZero() {
		t.Fatalf("the refused push moved main to %s", id.Short())
	}

	// Within the bound, and with an author date in 2099: accepted.
	near := skewedRepo(t, 5*time.Minute)
	id := commitAuthored(t, near, "b.txt", "near\n", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := remote.Push(ctx, near, hubRemote, []string{main}, remote.PushOptions{}); err != nil {
		t.Fatalf("push 5 minutes ahead, dated 2099: %v", err)
	}
	if head(t, hub) != id {
		t.Fatal("the accepted push did not move main")
	}

	// A server that allows two hours takes the fast leader's commit.
	lenient := skewedRepo(t, 0)
	if _, err := remote.Push(ctx, fast, serveAt(t, lenient, 2*time.Hour), []string{main}, remote.PushOptions{}); err != nil {
		t.Fatalf("push an hour ahead to a server allowing two: %v", err)
	}
}

// Leaders whose clocks are an hour apart, syncing through a hub that
// allows that skew, converge on one head; the conflict goes to the commit
// with the later commit time, and a commit made after seeing the merge,
// on the slow leader, is newer than it.
func TestSyncConvergesWithClocksAnHourApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub := skewedRepo(t, 0)
	hubRemote := serveAt(t, hub, 2*time.Hour)
	fast, slow := skewedRepo(t, time.Hour), skewedRepo(t, -time.Minute)
	commitAuthored(t, slow, "shared.txt", "base\n", time.Time{})
	if _, err := remote.Push(ctx, slow, hubRemote, []string{main}, remote.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Sync(ctx, fast, hubRemote, remote.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	commitAuthored(t, fast, "shared.txt", "fast\n", time.Time{})
	commitAuthored(t, slow, "shared.txt", "slow\n", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	for range 2 {
		for _, l := range []*repo.Repo{fast, slow} {
			if _, err := remote.Sync(ctx, l, hubRemote, remote.SyncOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if head(t, fast) != head(t, slow) || head(t, slow) != head(t, hub) {
		t.Fatal("leaders did not converge")
	}
	if got := read(t, slow, "shared.txt"); got != "fast\n" {
		t.Errorf("winner's version %q: the later commit time wins, not the 2099 author date", got)
	}
	after := commitAuthored(t, slow, "shared.txt", "slow after the merge\n", time.Time{})
	a, _ := slow.ReadCommit(ctx, after)
	m, _ := slow.ReadCommit(ctx, a.Parents[0])
	if !a.CommitTime.After(m.CommitTime) {
		t.Errorf("a commit after the merge has commit time %s, the merge %s", a.CommitTime, m.CommitTime)
	}
}
