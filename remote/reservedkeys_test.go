package remote_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo/repotest"
	"github.com/folio-db/folio/remote"
)

// A key no local write could make (.git or .folio segment) does not arrive
// from a peer either: a push carrying one is refused by the server, a fetch
// carrying one is refused by the client, each naming the key, and no ref
// moves on either side.
func TestPeersRefuseReservedKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub := newRepo(t)
	base := write(t, hub, map[string]string{"a.txt": "a"})
	url := serve(t, hub, nil)
	leader, _, err := remote.Clone(ctx, url, filepath.Join(t.TempDir(), "clone"), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer leader.Close()
	origin, _ := remote.Lookup(leader.Files, "origin")

	// The leader holds .git/config from before the rule, and pushes it.
	if _, err := repotest.CommitLegacy(ctx, leader, main, map[string]string{".git/config": "[core]\n\tfsmonitor = touch pwned\n"}, tick()); err != nil {
		t.Fatal(err)
	}
	_, err = remote.Push(ctx, leader, origin, []string{main}, remote.PushOptions{})
	if !errors.Is(err, objects.ErrInvalidKey) || !strings.Contains(err.Error(), ".git/config") {
		t.Fatalf("push of .git/config: %v, want an invalid key error naming it", err)
	}
	if head(t, hub) != base {
		t.Error("the refused push moved the hub's branch")
	}

	// The hub holds .Folio/HEAD from before the rule; a fetch refuses it.
	if _, err := repotest.CommitLegacy(ctx, hub, main, map[string]string{"x/.Folio/HEAD": "refs/heads/evil\n"}, tick()); err != nil {
		t.Fatal(err)
	}
	_, err = remote.Fetch(ctx, leader, origin, remote.Options{})
	if !errors.Is(err, objects.ErrInvalidKey) || !strings.Contains(err.Error(), "x/.Folio/HEAD") {
		t.Fatalf("fetch of x/.Folio/HEAD: %v, want an invalid key error naming it", err)
	}
	if tracking, _ := leader.RefOrZero(ctx, remote.TrackingRef("origin", main)); tracking != base {
		t.Error("the refused fetch moved the remote-tracking ref")
	}
}
