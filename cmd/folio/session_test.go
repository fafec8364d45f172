package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
)

// TestWritingCommandsRunShortSessions: every command that writes opens the
// store as a short session (repo.Options.Short: no compactors), import
// and gc excepted (and fetch, which opens it writable only to write:
// TestFetchOpensWritableOnlyToWrite). A compactor that started inside a fetch of one commit
// rewrote a level of the store, half a second of CPU in one fetch in five
// on 100,000 documents; a short session that writes a lot settles on
// Close instead (badgerstore.TestLargeSessionSettles). Each command here
// fails once the store is open (no such remote or revision) or does
// nothing, which is all this test needs.
func TestWritingCommandsRunShortSessions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, code := runOpened(t, dir, nil, "init", dir); code != 0 {
		t.Fatalf("folio init: exit %d\n%s", code, out)
	}
	empty := t.TempDir()
	for args, short := range map[string]bool{
		"pull origin main":     true,
		"sync":                 true,
		"merge no-such-branch": true,
		"cherry-pick no-such":  true,
		"revert no-such":       true,
		"branch topic":         true,
		"import " + empty:      false,
		"gc":                   false,
	} {
		var opens []repo.Options
		out, _ := runOpened(t, dir, func(o repo.Options) { opens = append(opens, o) }, strings.Fields(args)...)
		if len(opens) == 0 {
			t.Errorf("folio %s opened no repository:\n%s", args, out)
			continue
		}
		for _, o := range opens {
			if o.ReadOnly || o.Short != short {
				t.Errorf("folio %s opened the repository with %+v, want a writable open with Short %v", args, o, short)
			}
		}
	}
}

// runOpened runs folio in process on the repository in dir, telling opened
// of each open, and returns what it printed and its exit code.
func runOpened(t *testing.T, dir string, opened func(repo.Options), args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &out, opened: opened}
	root := newRootCommand(a, commands)
	root.SetArgs(append([]string{"--repo", dir}, args...))
	root.SetIn(a.stdin)
	root.SetOut(&out)
	root.SetErr(&out)
	return out.String(), a.exit(root.ExecuteContext(context.Background()))
}

// TestFetchOpensWritableOnlyToWrite: a fetch that finds nothing new opens
// the store read-only (a writable Badger open and close cost more than
// the rest of such a fetch), and one that brings a commit, or only a ref
// to move, reopens it writable, as a short session, and moves the
// tracking refs.
func TestFetchOpensWritableOnlyToWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, err := repo.Init(ctx, t.TempDir(), "", repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	commitDoc := func(body string) objects.ID {
		t.Helper()
		e, err := src.WriteDocumentBytes(ctx, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.StageEdits(ctx, objects.BranchPrefix+"main", []repo.Edit{{Key: "a.json", Entry: e}}); err != nil {
			t.Fatal(err)
		}
		id, err := src.Commit(ctx, objects.BranchPrefix+"main", repo.CommitOptions{Message: body,
			Author: objects.Signature{Name: "t", Email: "t@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	commitDoc(`{"v": 1}`)
	srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(src)}))
	t.Cleanup(srv.Close)
	dst := filepath.Join(t.TempDir(), "clone")
	if out, code := runOpened(t, dst, nil, "clone", srv.URL, dst); code != 0 {
		t.Fatalf("folio clone: exit %d\n%s", code, out)
	}
	fetch := func() []repo.Options {
		t.Helper()
		var opens []repo.Options
		if out, code := runOpened(t, dst, func(o repo.Options) { opens = append(opens, o) }, "fetch"); code != 0 {
			t.Fatalf("folio fetch: exit %d\n%s", code, out)
		}
		return opens
	}
	for _, o := range fetch() {
		if !o.ReadOnly {
			t.Errorf("a fetch with nothing new opened the repository with %+v, want read-only", o)
		}
	}
	tip := commitDoc(`{"v": 2}`)
	opens := fetch()
	if o := opens[len(opens)-1]; o.ReadOnly || !o.Short {
		t.Errorf("a fetch that brought a commit last opened the repository with %+v, want a writable short session", o)
	}
	// A new branch at a commit the clone has brings no object, and still
	// moves refs.
	if err := src.Store().UpdateRefs(ctx, objects.RefUpdate{Name: objects.BranchPrefix + "topic", New: tip}); err != nil {
		t.Fatal(err)
	}
	opens = fetch()
	if o := opens[len(opens)-1]; o.ReadOnly || !o.Short {
		t.Errorf("a fetch that brought a branch last opened the repository with %+v, want a writable short session", o)
	}
	dr, err := repo.Open(ctx, filepath.Join(dst, ".folio"), repo.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dr.Close()
	for _, name := range []string{"origin/main", "origin/topic"} {
		if got, err := dr.Store().Ref(ctx, objects.RemotePrefix+name); err != nil || got != tip {
			t.Errorf("%s is %s (%v), want %s", name, got.Short(), err, tip.Short())
		}
	}
}
