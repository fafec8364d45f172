package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// ackedWrite is a document write the server acknowledged.
type ackedWrite struct {
	commit       objects.ID
	key, content string
}

// TestGCUnderConcurrentWritesAndPushes runs a real server that collects
// its garbage every 50 ms with a grace period of 3 s (each write and push
// here takes far less), while applications write
// documents (some with a stale If-Match, which leaves an orphan document
// behind) and a leader pushes commits. Afterwards every acknowledged
// commit and its document must be readable, and fsck clean.
func TestGCUnderConcurrentWritesAndPushes(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	work := t.TempDir()
	hub := filepath.Join(work, "hub")
	e.must(work, "init", "hub")
	os.WriteFile(filepath.Join(work, "seed.json"), []byte(`{"seed":true}`), 0o644)
	e.must(hub, "put", "seed.json", filepath.Join(work, "seed.json"))
	e.must(hub, "commit", "-m", "seed")
	srv := e.serve(hub, "--gc-every", "50ms", "--gc-prune", "3s")
	e.must(work, "clone", srv.url, "leader")
	leader := filepath.Join(work, "leader")
	e.must(leader, "branch", "feature")
	e.must(leader, "switch", "feature")

	var mu sync.Mutex
	var acked []ackedWrite
	var pushed []string // commit lines of pushed commits
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				key := fmt.Sprintf("w%d/doc%d.json", w, i%7)
				content := fmt.Sprintf(`{"writer":%d,"i":%d}`, w, i)
				if i%3 == 2 { // refused: its document is written, then orphaned
					writeDoc(srv.url, key, []byte(fmt.Sprintf(`{"stale":"%d/%d"}`, w, i)), `If-Match: "`+objects.Hash([]byte("no")).String()+`"`)
				}
				status, commit, err := writeDoc(srv.url, key, []byte(content))
				if err != nil || status >= 300 {
					resp, _ := api("GET", srv.url, docPath(key), nil)
					t.Errorf("write %s: %d %v (read: %+v)\n%s", key, status, err, resp, srv.tail())
					return
				}
				mu.Lock()
				acked = append(acked, ackedWrite{commit, key, content})
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 6 {
			f := filepath.Join(work, fmt.Sprintf("p%d.txt", i))
			os.WriteFile(f, []byte(fmt.Sprintf("pushed %d\n", i)), 0o644)
			for _, args := range [][]string{{"put", fmt.Sprintf("p%d.txt", i), f}, {"commit", "-m", fmt.Sprint("push ", i)}} {
				if res := e.run(leader, args...); res.code != 0 {
					t.Errorf("%v", res)
					return
				}
			}
			if res := e.run(leader, "push", "origin", "feature"); res.code != 0 {
				t.Errorf("%v", res)
				return
			}
			head := strings.TrimSpace(e.must(leader, "log", "-n", "1", "--json"))
			mu.Lock()
			pushed = append(pushed, head)
			mu.Unlock()
		}
	}()
	wg.Wait()
	if t.Failed() {
		return
	}
	// Wait for a collection that deleted something, so the test cannot pass
	// with a gc that never ran.
	deleted := regexp.MustCompile(`msg=gc .*deleted=[1-9]`)
	for deadline := time.Now().Add(20 * time.Second); !deleted.MatchString(srv.logs.String()); {
		if time.Now().After(deadline) {
			t.Fatalf("the server's gc never deleted anything:\n%s", srv.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.stop(t)
	e.fsckClean(hub, "hub after gc under load")
	history := reachable(t, hub, "main")
	withLocalRepo(t, hub, func(r *repo.Repo) {
		ctx := context.Background()
		for _, w := range acked {
			if !history[w.commit] {
				t.Errorf("acknowledged commit %s is not in main's history", w.commit.Short())
				continue
			}
			_, entry, err := r.ResolveDocument(ctx, w.commit.String(), w.key)
			if err != nil {
				t.Errorf("%s at %s: %v", w.key, w.commit.Short(), err)
				continue
			}
			if data, err := r.ReadDocument(ctx, entry); err != nil || string(data) != w.content {
				t.Errorf("%s at %s: %q %v, want %q", w.key, w.commit.Short(), data, err, w.content)
			}
		}
		for i := range 6 {
			if _, _, err := r.ResolveDocument(ctx, "feature", fmt.Sprintf("p%d.txt", i)); err != nil {
				t.Errorf("pushed document p%d.txt: %v", i, err)
			}
		}
	})
	if len(acked) != 90 || len(pushed) != 6 {
		t.Errorf("%d writes and %d pushes acknowledged, want 90 and 6", len(acked), len(pushed))
	}
}

// TestGCKilled kills real 'folio gc --prune=now' processes at random
// moments; the repository must stay fsck clean with every document, and a
// last gc must finish the job.
func TestGCKilled(t *testing.T) {
	t.Parallel()
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 9))
	e := newE2E(t)
	work := t.TempDir()
	dir := filepath.Join(work, "r")
	e.must(work, "init", "r")
	docs := filepath.Join(work, "docs")
	os.MkdirAll(docs, 0o755)
	writeDocs := func(round int) {
		for i := range 1000 {
			os.WriteFile(filepath.Join(docs, fmt.Sprintf("d%04d.json", i)),
				[]byte(fmt.Sprintf(`{"round":%d,"i":%d,"pad":"%0500d"}`, round, i, i)), 0o644)
		}
	}
	writeDocs(0)
	e.must(dir, "import", docs)
	e.must(dir, "commit", "-m", "kept")
	// How long a gc takes here (a dry run does the same marking), so the
	// kills land inside one rather than after it on a fast machine.
	start := time.Now()
	e.must(dir, "gc", "--prune=now", "--dry-run")
	took := time.Since(start)
	killed := 0
	for round := 1; round <= 3; round++ {
		writeDocs(round) // staged and reset: 1,000 unreachable documents
		e.must(dir, "import", docs)
		e.must(dir, "reset")
		cmd := e.command(context.Background(), dir, nil, "gc", "--prune=now")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(took) * 3 / 4)))
		cmd.Process.Signal(syscall.SIGKILL)
		if cmd.Wait() != nil {
			killed++
		}
		e.fsckClean(dir, fmt.Sprintf("round %d, gc killed", round))
	}
	if killed == 0 {
		t.Fatalf("every gc finished before its kill (seed %d): nothing was tested", seed)
	}
	e.must(dir, "gc", "--prune=now")
	e.fsckClean(dir, "after a complete gc")
	if out := e.must(dir, "fsck", "--unreachable"); strings.Contains(out, "unreachable ") {
		t.Errorf("a complete gc left unreachable objects:\n%s", out)
	}
	for _, i := range []int{0, 777, 999} {
		got := e.must(dir, "get", fmt.Sprintf("d%04d.json", i))
		if want := fmt.Sprintf(`{"round":0,"i":%d,`, i); !strings.HasPrefix(got, want) {
			t.Errorf("d%04d.json after gc: %.40q", i, got)
		}
	}
}

// TestPeerSyncsAfterHubGC: a leader that has not synced while the hub took
// many writes, lost a branch and collected its garbage still syncs both
// ways, and both sides stay fsck clean.
func TestPeerSyncsAfterHubGC(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	work := t.TempDir()
	hub := filepath.Join(work, "hub")
	e.must(work, "init", "hub")
	f := filepath.Join(work, "doc.json")
	os.WriteFile(f, []byte(`{"v":0}`), 0o644)
	e.must(hub, "put", "base.json", f)
	e.must(hub, "commit", "-m", "base")
	e.must(hub, "branch", "old")
	srv := e.serve(hub)
	e.must(work, "clone", srv.url, "peer")
	peer := filepath.Join(work, "peer")
	// The peer works offline.
	e.must(peer, "put", "peer.json", f)
	e.must(peer, "commit", "-m", "offline work")
	// The hub moves on: many writes, then a branch deleted.
	for i := range 40 {
		if st, _, err := writeDoc(srv.url, "hub/"+strconv.Itoa(i%5)+".json", []byte(fmt.Sprintf(`{"i":%d}`, i))); err != nil || st >= 300 {
			t.Fatalf("write: %d %v", st, err)
		}
	}
	srv.stop(t)
	e.must(hub, "branch", "-d", "old")
	if out := e.must(hub, "gc", "--prune=now"); !strings.Contains(out, "deleted") {
		t.Fatalf("gc: %s", out)
	}
	e.fsckClean(hub, "hub after gc")
	srv = e.serve(hub, "--addr", strings.TrimSuffix(strings.TrimPrefix(srv.url, "http://"), "/"))
	if res := e.run(peer, "sync"); res.code != 0 {
		t.Fatalf("the peer's first sync after the hub's gc: %v", res)
	}
	srv.stop(t)
	e.fsckClean(hub, "hub after the peer synced")
	e.fsckClean(peer, "peer after sync")
	for _, dir := range []string{hub, peer} {
		if got := e.must(dir, "get", "peer.json"); got != `{"v":0}` {
			t.Errorf("%s: peer.json = %q", dir, got)
		}
		if got := e.must(dir, "get", "hub/4.json"); got != `{"i":39}` {
			t.Errorf("%s: hub/4.json = %q", dir, got)
		}
	}
}
