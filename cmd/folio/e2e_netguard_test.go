package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/remotetest"
)

// TestFaultSilentRemote: clone, fetch and sync against a server that
// accepts and never answers fail after the timeout (of --timeout, or of the
// remote.timeout setting) with an error naming the remote; a sync of two
// remotes where one is silent still syncs the healthy one, reports both and
// exits 1.
func TestFaultSilentRemote(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	root := t.TempDir()
	silent := remotetest.SilentServer(t)

	started := time.Now()
	res := e.run(root, "clone", "--timeout", "1s", silent, filepath.Join(root, "c"))
	t.Logf("clone of a silent server failed after %s", time.Since(started).Round(time.Millisecond))
	if res.code != 1 {
		t.Fatalf("clone of a silent server: want exit 1:\n%v", res)
	}
	wantClearError(t, "clone of a silent server", res, "timed out: "+silent+": no reply within 1s")
	if !strings.Contains(res.stderr, "hint: ") || strings.Contains(res.stderr, "client:") {
		t.Fatalf("clone of a silent server: want a hint and no package names:\n%v", res)
	}
	if _, err := os.Stat(filepath.Join(root, "c")); !os.IsNotExist(err) {
		t.Fatalf("the failed clone left its folder behind (%v)", err)
	}

	hubDir, leafDir := filepath.Join(root, "hub"), filepath.Join(root, "leaf")
	e.must(root, "init", hubDir)
	hub := e.serve(hubDir)
	if st, _, err := writeDoc(hub.url, "hub.json", []byte(`{"from": "hub"}`)); err != nil || st != http.StatusCreated {
		t.Fatalf("write to the hub: %d %v", st, err)
	}
	e.must(root, "init", leafDir)
	os.WriteFile(filepath.Join(root, "leaf.json"), []byte(`{"from": "leaf"}`), 0o644)
	e.must(leafDir, "put", "leaf.json", filepath.Join(root, "leaf.json"))
	e.must(leafDir, "commit", "-m", "leaf")
	// "a-silent" sorts first: a sync that stopped there would never reach
	// the hub.
	e.must(leafDir, "remote", "add", "a-silent", silent)
	e.must(leafDir, "remote", "add", "hub", hub.url)

	e.must(leafDir, "config", "remote.timeout", "1500ms")
	res = e.run(leafDir, "fetch", "a-silent")
	if res.code != 1 {
		t.Fatalf("fetch from a silent remote: want exit 1:\n%v", res)
	}
	wantClearError(t, "fetch from a silent remote", res, "fetch a-silent: timed out: "+silent+": no reply within 1.5s")

	started = time.Now()
	// The hub and the leaf began apart: their histories are unrelated.
	res = e.run(leafDir, "sync", "--timeout", "1s", "--allow-unrelated-histories")
	t.Logf("sync with a silent remote failed after %s", time.Since(started).Round(time.Millisecond))
	if res.code != 1 {
		t.Fatalf("sync with one silent remote: want exit 1:\n%v", res)
	}
	if !strings.Contains(res.stdout, "a-silent: ") || !strings.Contains(res.stdout, "failed: timed out: "+silent+": no reply within 1s") ||
		!strings.Contains(res.stdout, "hub: ") || !strings.Contains(res.stderr, "sync failed with 1 of 2 remotes") {
		t.Fatalf("sync with one silent remote: want both reported, the silent one failed:\n%v", res)
	}
	main := objects.BranchPrefix + "main"
	hubHead := mainHead(t, hub)
	if leafHead := localRefs(t, leafDir)[main]; leafHead != hubHead || leafHead.IsZero() {
		t.Fatalf("the healthy remote was not synced: leaf main %s, hub main %s", leafHead.Short(), hubHead.Short())
	}
	if _, _, found, err := readDoc(hub.url, "leaf.json"); err != nil || !found {
		t.Fatalf("the leaf's document did not reach the hub: %v", err)
	}
}
