package repo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

// Every way a key is written refuses .git and .folio segments, with an
// error that names the key, and changes nothing.
func TestWritesRefuseReservedKeys(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	ctx := context.Background()
	main := objects.BranchPrefix + "main"
	put(t, r, "a.txt", "a")
	id := commit(t, r, "c", 1)
	e, err := r.WriteDocumentBytes(ctx, []byte("[core]\n\tfsmonitor = touch pwned\n"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(what, key string, err error) {
		t.Helper()
		if !errors.Is(err, objects.ErrInvalidKey) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v, want ErrInvalidKey naming %s", what, err, key)
		}
	}
	_, err = r.StageEdits(ctx, main, []Edit{{Key: ".git/config", Entry: e}})
	check("stage", ".git/config", err)
	_, err = r.CommitEdits(ctx, main, []Edit{{Key: "x/.Folio/HEAD", Entry: e}}, CommitOptions{Author: ada}, nil)
	check("commit edits", "x/.Folio/HEAD", err)
	_, err = r.MoveEdits(ctx, mustCommit(t, r, id).Index, "a.txt", ".GIT/config")
	check("move", ".GIT/config", err)
	_, err = r.Import(ctx, main, t.TempDir(), ".git")
	check("import prefix", ".git", err)
	if s, _ := r.LoadStaged(ctx, main); s.HasChanges() {
		t.Error("a refused write staged changes")
	}
	if head, _ := r.RefOrZero(ctx, main); head != id {
		t.Error("a refused write moved the branch")
	}
}

// Import skips .git and .folio folders in any case, and a .git file (as git
// worktrees and submodules have), as it skips the repository's own folder.
func TestImportSkipsReservedNames(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	ctx := context.Background()
	src := t.TempDir()
	writeFiles(t, src, map[string]string{
		"a.txt":           "a",
		".GIT/config":     "x",
		"sub/.Folio/HEAD": "x",
		"sub/.git":        "gitdir: ../.git/worktrees/sub\n",
		"sub/.gitignore":  "*.o\n",
		".github/ci.yml":  "on: push\n",
	})
	rep, err := r.Import(ctx, objects.BranchPrefix+"main", src, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != 3 {
		t.Errorf("imported %d files, want 3 (a.txt, sub/.gitignore, .github/ci.yml)", rep.Files)
	}
	id := commit(t, r, "c", 1)
	keys, err := r.KeysUnder(ctx, mustCommit(t, r, id).Index, "sub")
	if err != nil || len(keys) != 1 || keys[0].Key != "sub/.gitignore" {
		t.Errorf("keys under sub: %v (%v)", keys, err)
	}
}

func mustCommit(t *testing.T, r *Repo, id objects.ID) *objects.Commit {
	t.Helper()
	c, err := r.ReadCommit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A repository written before the rule keeps its reserved keys readable,
// and they can be moved to an allowed key or removed.
func TestLegacyReservedKeysCanBeReadMovedAndRemoved(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	ctx := context.Background()
	main := objects.BranchPrefix + "main"
	id := legacyCommit(t, r, map[string]string{".git/config": "cfg", ".folio/HEAD": "head", "a": "a"})
	if got := get(t, r, "HEAD", ".git/config"); got != "cfg" {
		t.Errorf("get .git/config = %q", got)
	}
	root := mustCommit(t, r, id).Index
	mv, err := r.MoveEdits(ctx, root, ".git", "git")
	if err != nil {
		t.Fatal(err)
	}
	rm, err := r.RemoveEdits(ctx, root, []string{".folio/HEAD"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.StageEdits(ctx, main, append(mv, rm...)); err != nil {
		t.Fatal(err)
	}
	id = commit(t, r, "clean up", 2)
	if got := get(t, r, "HEAD", "git/config"); got != "cfg" {
		t.Errorf("get git/config = %q", got)
	}
	out := t.TempDir()
	if _, err := r.Export(ctx, id, out, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "git", "config")); err != nil {
		t.Error(err)
	}
}
