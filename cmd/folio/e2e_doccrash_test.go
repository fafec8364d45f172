package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// TestServeKilledUnderDocumentWrites kills 'folio serve' with SIGKILL
// while 16 clients write documents through the API, so that group commits
// are cut at random points. After each kill the repository is fsck clean,
// and every write the server acknowledged is in the branch's history as
// its own commit and readable with its content; then the server starts
// again on the same repository.
func TestServeKilledUnderDocumentWrites(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills servers under load")
	}
	rng := rand.New(rand.NewPCG(testSeed(t), 13))
	e := newE2E(t)
	work := t.TempDir()
	e.must(work, "init", "r")
	dir := work + "/r"
	const clients, kills = 16, 3
	type ack struct {
		key, content string
		commit       objects.ID
	}
	var acked []ack
	for kill := range kills {
		srv := e.serve(dir)
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for c := range clients {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					key := fmt.Sprintf("k%d/c%02d/%05d.json", kill, c, i)
					content := fmt.Sprintf(`{"kill": %d, "client": %d, "i": %d}`, kill, c, i)
					status, commit, err := writeDoc(srv.url, key, []byte(content))
					if err != nil || status/100 != 2 {
						return // the server is gone: this write is not acknowledged
					}
					mu.Lock()
					acked = append(acked, ack{key, content, commit})
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(150+rng.IntN(300)) * time.Millisecond)
		srv.cmd.Process.Signal(syscall.SIGKILL)
		<-srv.ended
		close(stop)
		wg.Wait()

		what := fmt.Sprintf("kill %d, %d writes acknowledged", kill, len(acked))
		e.fsckClean(dir, what)
		history := reachable(t, dir, "main")
		withLocalRepo(t, dir, func(r *repo.Repo) {
			ctx := context.Background()
			for _, a := range acked {
				if !history[a.commit] {
					t.Fatalf("%s: the commit %s of %s is not in the history", what, a.commit.Short(), a.key)
				}
				for _, at := range []string{a.commit.String(), "main"} {
					if got := readAt(t, r, at, a.key); got != a.content {
						t.Fatalf("%s: %s at %s is %q, want %q", what, a.key, at, got, a.content)
					}
				}
				c, err := r.ReadCommit(ctx, a.commit)
				if err != nil || len(c.Parents) > 1 {
					t.Fatalf("%s: commit of %s: %v, parents %v", what, a.key, err, c)
				}
				for _, p := range c.Parents {
					if got := readAt(t, r, p.String(), a.key); got != "" {
						t.Fatalf("%s: the parent of the commit of %s has it already: not its own version", what, a.key)
					}
				}
			}
		})
	}
	if len(acked) < clients*kills {
		t.Fatalf("only %d writes were acknowledged before the kills: nothing much was tested", len(acked))
	}
}

// readAt is a document's content at a revision, "" when it is absent.
func readAt(t *testing.T, r *repo.Repo, rev, key string) string {
	t.Helper()
	ctx := context.Background()
	_, e, err := r.ResolveDocument(ctx, rev, key)
	if errors.Is(err, repo.ErrNoSuchKey) {
		return ""
	}
	var data []byte
	if err == nil {
		data, err = r.ReadDocument(ctx, e)
	}
	if err != nil {
		t.Fatalf("%s at %s: %v", key, rev, err)
	}
	return string(data)
}
