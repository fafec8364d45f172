package repo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
)

// clockRepo is a repository whose clock reads *now.
func clockRepo(t *testing.T, now *time.Time) *Repo {
	t.Helper()
	r, err := Init(context.Background(), t.TempDir(), "", Options{Store: memstore.New(), Clock: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A commit's commit time is the leader's clock, whatever author date it
// was given; when the clock is behind a parent's commit time, the commit
// time is one tick past the parent's (a hybrid logical clock), so a child
// is always newer than its parents.
func TestCommitTimeIsAHybridLogicalClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 21, 0, 0, 0, time.UTC)
	r := clockRepo(t, &now)
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)

	put(t, r, "a", "1")
	first, err := r.Commit(ctx, objects.BranchPrefix+"main", CommitOptions{Message: "m", Author: ada, Time: future})
	if err != nil {
		t.Fatal(err)
	}
	c := readCommitT(t, r, first)
	if !c.Time.Equal(future) || !c.CommitTime.Equal(now) {
		t.Errorf("author date %s, commit time %s; want %s and the clock's %s", c.Time, c.CommitTime, future, now)
	}

	now = now.Add(-time.Hour) // the clock steps back
	put(t, r, "a", "2")
	second, err := r.Commit(ctx, objects.BranchPrefix+"main", CommitOptions{Message: "m", Author: ada})
	if err != nil {
		t.Fatal(err)
	}
	c2 := readCommitT(t, r, second)
	if want := c.CommitTime.Add(time.Nanosecond); !c2.CommitTime.Equal(want) {
		t.Errorf("commit time after the clock stepped back: %s, want %s (parent + 1 ns)", c2.CommitTime, want)
	}
	if !c2.Time.Equal(now) {
		t.Errorf("author date without one given: %s, want the clock's %s", c2.Time, now)
	}

	// The document path stamps the same way.
	e, err := r.WriteDocumentBytes(ctx, []byte("3"))
	if err != nil {
		t.Fatal(err)
	}
	third, err := r.CommitEdits(ctx, objects.BranchPrefix+"main", []Edit{{Key: "a", Entry: e}}, CommitOptions{Message: "m", Author: ada}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c3 := readCommitT(t, r, third); !c3.CommitTime.Equal(c2.CommitTime.Add(time.Nanosecond)) {
		t.Errorf("CommitEdits commit time %s, want %s", c3.CommitTime, c2.CommitTime.Add(time.Nanosecond))
	}
}

// A commit time given explicitly (a converging merge derives it from its
// parents) may not be earlier than a parent's: nothing is written.
func TestWriteCommitRefusesATimeBeforeItsParents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 21, 0, 0, 0, time.UTC)
	r := clockRepo(t, &now)
	parent, err := r.WriteCommit(ctx, &objects.Commit{Author: ada})
	if err != nil {
		t.Fatal(err)
	}
	child := &objects.Commit{Author: ada, Parents: []objects.ID{parent}, CommitTime: now.Add(-time.Second)}
	if _, err := r.WriteCommit(ctx, child); !errors.Is(err, ErrCommitTimeBeforeParent) {
		t.Fatalf("WriteCommit with a commit time before its parent's: %v, want ErrCommitTimeBeforeParent", err)
	}
	if has, _ := r.Store().Has(ctx, child.Encode().ID); has {
		t.Error("the refused commit was stored")
	}
}

func readCommitT(t *testing.T, r *Repo, id objects.ID) *objects.Commit {
	t.Helper()
	c, err := r.ReadCommit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A repository made before commit times (format line "objects-1") still
// opens; opening it for writing records the new format, so that an older
// folio, which cannot read the new commits, refuses the repository with
// "upgrade folio" instead of failing on a commit. A read-only open changes
// nothing.
func TestOldRepositoryFormatOpensAndIsUpgraded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	worktree := t.TempDir()
	r, err := Init(ctx, worktree, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	dir := filepath.Join(worktree, DirName)
	path := filepath.Join(dir, formatFile)
	old := "folio-repository 1 blake3-256 objects-1\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(ctx, dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of an objects-1 repository: %v", err)
	}
	ro.Close()
	if data, _ := os.ReadFile(path); string(data) != old {
		t.Fatalf("a read-only open rewrote the format file: %q", data)
	}
	rw, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("open of an objects-1 repository: %v", err)
	}
	rw.Close()
	if data, _ := os.ReadFile(path); string(data) != FormatName+"\n" || !strings.HasSuffix(FormatName, "objects-2") {
		t.Fatalf("format file after a writable open: %q, want %q (objects-2)", data, FormatName)
	}
}
