package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
)

// legacyCommit commits documents the way a repository written before the
// reserved-key rule could hold them: straight into the index, with no key
// check beyond ValidateKey. It returns the commit, now the head of main.
func legacyCommit(t *testing.T, r *Repo, docs map[string]string) objects.ID {
	t.Helper()
	ctx := context.Background()
	var edits []Edit
	for key, content := range docs {
		e, err := r.WriteDocumentBytes(ctx, []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		edits = append(edits, Edit{Key: key, Entry: e})
	}
	slices.SortFunc(edits, func(a, b Edit) int { return strings.Compare(a.Key, b.Key) })
	ref := objects.BranchPrefix + "main"
	head, err := r.RefOrZero(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	c := &objects.Commit{Author: ada, Time: time.Unix(1_700_000_000, 0).UTC(), Message: "legacy"}
	if !head.IsZero() {
		parent, err := r.ReadCommit(ctx, head)
		if err != nil {
			t.Fatal(err)
		}
		c.Index, c.Parents = parent.Index, []objects.ID{head}
	}
	if c.Index, err = r.Tree().Edit(ctx, c.Index, edits); err != nil {
		t.Fatal(err)
	}
	id, err := r.WriteCommit(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: ref, Old: head, New: id}); err != nil {
		t.Fatal(err)
	}
	return id
}

// repoWith makes a repository on a real Badger store whose main branch
// holds docs in one commit.
func repoWith(t *testing.T, docs map[string]string) (*Repo, objects.ID) {
	t.Helper()
	r := newTestRepo(t)
	for key, content := range docs {
		put(t, r, key, content)
	}
	return r, commit(t, r, "c", 1)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// listTree lists every path under dir (folders end in '/'), with the
// content of files, so a test can say "nothing changed" in one compare.
// Files in a repository folder (DirName) are the open store's: they are
// listed by size and modification time, not read (its mapped logs are
// tens of MB of holes; reading them took most of a test's CPU).
func listTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "-> " + target
		case info.IsDir():
			out[rel+"/"] = ""
		case slices.Contains(strings.Split(filepath.Dir(rel), string(filepath.Separator)), DirName):
			out[rel] = fmt.Sprintf("%d bytes, modified %v", info.Size(), info.ModTime())
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(data)
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range after {
		if w, ok := before[k]; !ok {
			t.Errorf("%s: %s appeared", what, k)
		} else if w != v {
			t.Errorf("%s: %s changed from %q to %q", what, k, w, v)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("%s: %s disappeared", what, k)
		}
	}
}

// refused checks that err is an export refusal naming every key in keys.
func refused(t *testing.T, err error, keys ...string) {
	t.Helper()
	if !errors.Is(err, ErrExportRefused) {
		t.Fatalf("export: %v, want ErrExportRefused", err)
	}
	var ee *ExportError
	if !errors.As(err, &ee) {
		t.Fatalf("export: %v is not an *ExportError", err)
	}
	var got []string
	for _, p := range ee.Problems {
		got = append(got, p.Key)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("refused keys %q, want %q", got, keys)
	}
	for _, k := range keys {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("the error does not name %s:\n%v", k, err)
		}
	}
}

// Exported at a repository's root, documents keyed into .folio or .git made
// the repository unopenable, planted a core.fsmonitor command in
// .git/config and replaced a git hook. None of them is written; the
// repository still opens; even --force does not change that.
func TestExportAtRepositoryRootRefusesFolioAndGitKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := t.TempDir()
	r, err := Init(ctx, w, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, w, map[string]string{
		".git/hooks/pre-commit": "#!/bin/sh\necho the user's hook\n",
		".git/HEAD":             "ref: refs/heads/main\n",
	})
	id := legacyCommit(t, r, map[string]string{
		".folio/db/MANIFEST":       "not a manifest",
		".folio/HEAD":              "refs/heads/evil\n",
		".git/config":              "[core]\n\tfsmonitor = touch pwned\n",
		".git/hooks/pre-commit":    "#!/bin/sh\ntouch pwned\n",
		".GIT/hooks/post-checkout": "#!/bin/sh\ntouch pwned\n",
		"sub/.Folio./x":            "x",
		"ok.txt":                   "fine",
	})
	gitBefore := listTree(t, filepath.Join(w, ".git"))
	for _, force := range []bool{false, true} {
		_, err = r.Export(ctx, id, w, ExportOptions{Force: force})
		refused(t, err, ".folio/db/MANIFEST", ".folio/HEAD", ".git/config", ".git/hooks/pre-commit",
			".GIT/hooks/post-checkout", "sub/.Folio./x")
		if _, err := os.Stat(filepath.Join(w, "ok.txt")); err == nil {
			t.Error("a refused export wrote ok.txt")
		}
		sameTree(t, ".git", gitBefore, listTree(t, filepath.Join(w, ".git")))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r, err = Open(ctx, filepath.Join(w, DirName), Options{})
	if err != nil {
		t.Fatalf("the repository no longer opens: %v", err)
	}
	defer r.Close()
	if got := get(t, r, "HEAD", "ok.txt"); got != "fine" {
		t.Errorf("ok.txt reads %q after the export", got)
	}
	// With the reserved keys removed, the rest exports.
	rm, err := r.RemoveEdits(ctx, mustCommit(t, r, id).Index, []string{".folio", ".git", ".GIT", "sub"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.StageEdits(ctx, objects.BranchPrefix+"main", rm); err != nil {
		t.Fatal(err)
	}
	clean := commit(t, r, "clean", 2)
	if _, err := r.Export(ctx, clean, w, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(w, "ok.txt")); string(data) != "fine" {
		t.Errorf("ok.txt exported as %q", data)
	}
}

// The target folder itself may not be inside a .git or .folio folder, nor be
// the repository's own folder, whatever path names it.
func TestExportRefusesATargetInsideGitOrFolio(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newTestRepo(t)
	w := filepath.Dir(r.Dir())
	put(t, r, "pre-commit", "#!/bin/sh\ntouch pwned\n")
	id := commit(t, r, "c", 1)
	writeFiles(t, w, map[string]string{".git/hooks/README": "hooks"})
	if err := os.Symlink(filepath.Join(w, ".git", "hooks"), filepath.Join(w, "innocent")); err != nil {
		t.Fatal(err)
	}
	before := listTree(t, w)
	for _, dir := range []string{
		filepath.Join(w, ".git", "hooks"),
		filepath.Join(w, ".git", "new"),
		filepath.Join(w, DirName),
		filepath.Join(w, "innocent"),
		filepath.Join(w, "innocent", "deeper"),
	} {
		if _, err := r.Export(ctx, id, dir, ExportOptions{Force: true}); !errors.Is(err, ErrExportRefused) {
			t.Errorf("export into %s: %v, want ErrExportRefused", dir, err)
		}
	}
	sameTree(t, "worktree", before, listTree(t, w))
}

// An existing file is never replaced without Force; with it, it is replaced
// whole. A folder is never replaced.
func TestExportDoesNotOverwriteWithoutForce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, id := repoWith(t, map[string]string{"a.txt": "from folio", "new/b.txt": "new file"})
	out := t.TempDir()
	writeFiles(t, out, map[string]string{"a.txt": "the user's own"})
	before := listTree(t, out)
	_, err := r.Export(ctx, id, out, ExportOptions{})
	refused(t, err, "a.txt")
	if !strings.Contains(err.Error(), "--force") {
		t.Errorf("the error does not say how to overwrite: %v", err)
	}
	sameTree(t, "target", before, listTree(t, out))

	rep, err := r.Export(ctx, id, out, ExportOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != 2 {
		t.Errorf("forced export wrote %d files", rep.Files)
	}
	sameTree(t, "forced target", map[string]string{"./": "", "a.txt": "from folio", "new/": "", "new/b.txt": "new file"}, listTree(t, out))

	// A folder where a document goes stays, even with Force.
	put(t, r, "folder", "doc")
	id = commit(t, r, "d", 2)
	writeFiles(t, out, map[string]string{"folder/keep.txt": "keep"})
	before = listTree(t, out)
	_, err = r.Export(ctx, id, out, ExportOptions{Force: true})
	refused(t, err, "folder")
	sameTree(t, "target with a folder", before, listTree(t, out))
}

// A name longer than NAME_MAX (255 bytes) in any segment fails the export
// before anything is written, and the error lists every such key.
func TestExportRefusesLongNamesBeforeWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	long := strings.Repeat("x", 256)
	r, id := repoWith(t, map[string]string{
		"a.txt":            "first in order",
		long:               "too long",
		"d/" + long + "/c": "too long folder",
		"d/" + strings.Repeat("é", 128) + ".txt": "256 bytes of UTF-8",
		strings.Repeat("y", 255):                 "fits",
	})
	out := filepath.Join(t.TempDir(), "out")
	_, err := r.Export(ctx, id, out, ExportOptions{})
	refused(t, err, long, "d/"+long+"/c", "d/"+strings.Repeat("é", 128)+".txt")
	if !strings.Contains(err.Error(), "255") {
		t.Errorf("the error does not give the limit: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused export created its folder")
	}
}

// Symlinked folders inside the target are never written through, whether
// they point outside (os.Root refuses) or inside at a .git folder (os.Root
// would follow). A symlink where a file goes is replaced by --force, never
// followed.
func TestExportRefusesSymlinkedFolders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, id := repoWith(t, map[string]string{"ext/x": "escaped", "hooks/pre-commit": "#!/bin/sh\ntouch pwned\n", "ok.txt": "fine"})
	out, outside := t.TempDir(), t.TempDir()
	writeFiles(t, out, map[string]string{".git/hooks/README": "hooks"})
	if err := os.Symlink(outside, filepath.Join(out, "ext")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(".git", "hooks"), filepath.Join(out, "hooks")); err != nil {
		t.Fatal(err)
	}
	before := listTree(t, out)
	_, err := r.Export(ctx, id, out, ExportOptions{Force: true})
	refused(t, err, "ext/x", "hooks/pre-commit")
	sameTree(t, "target", before, listTree(t, out))
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("export wrote outside its folder: %v", entries)
	}

	// A symlink in a file's place: refused without --force, replaced (not
	// followed) with it.
	victim := filepath.Join(outside, "victim")
	writeFiles(t, outside, map[string]string{"victim": "untouched"})
	out2 := t.TempDir()
	if err := os.Symlink(victim, filepath.Join(out2, "ok.txt")); err != nil {
		t.Fatal(err)
	}
	rmEdits, err := r.RemoveEdits(ctx, mustCommit(t, r, id).Index, []string{"ext", "hooks"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.StageEdits(ctx, objects.BranchPrefix+"main", rmEdits); err != nil {
		t.Fatal(err)
	}
	id = commit(t, r, "d", 2)
	_, err = r.Export(ctx, id, out2, ExportOptions{})
	refused(t, err, "ok.txt")
	if _, err := r.Export(ctx, id, out2, ExportOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "untouched" {
		t.Errorf("export followed a symlink: its target now holds %q", data)
	}
	sameTree(t, "forced target", map[string]string{"./": "", "ok.txt": "fine"}, listTree(t, out2))
}

// failingStore is a real store whose disk returns an error for one object,
// as a damaged disk would.
type failingStore struct {
	objects.Store
	bad objects.ID
}

func (s *failingStore) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	if id == s.bad {
		return nil, objects.ErrCorrupt
	}
	return s.Store.Get(ctx, id)
}

// An export that fails while writing (here: the last chunk of a large
// document cannot be read) leaves no truncated file, no temp file, no new
// folder, and the user's file it was replacing is unchanged.
func TestFailedExportLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := badgerstore.Open(filepath.Join(t.TempDir(), "db"), badgerstore.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	fs := &failingStore{Store: store}
	r, err := Init(ctx, t.TempDir(), "", Options{Store: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	big := make([]byte, 3*SingleBlobMax)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	e, err := r.WriteDocument(ctx, bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	data, err := store.Get(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := objects.DecodeChunked(data)
	if err != nil {
		t.Fatalf("the large document is not chunked: %v", err)
	}
	fs.bad = doc.Chunks[len(doc.Chunks)-1].ID
	if _, err := r.StageEdits(ctx, objects.BranchPrefix+"main", []Edit{{Key: "dir/big.bin", Entry: e}}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		put(t, r, "new/"+strings.Repeat("n", i+1), "small")
	}
	id := commit(t, r, "c", 1)
	out := t.TempDir()
	writeFiles(t, out, map[string]string{"dir/big.bin": "the user's file"})
	before := listTree(t, out)
	if _, err := r.Export(ctx, id, out, ExportOptions{Force: true}); !errors.Is(err, objects.ErrCorrupt) {
		t.Fatalf("export: %v, want ErrCorrupt", err)
	}
	sameTree(t, "target", before, listTree(t, out))
	// Into a folder that did not exist: it is gone again, with its parents.
	if _, err := r.Export(ctx, id, filepath.Join(out, "new", "deeper"), ExportOptions{}); !errors.Is(err, objects.ErrCorrupt) {
		t.Fatalf("export: %v, want ErrCorrupt", err)
	}
	sameTree(t, "target after a failed export into a new folder", before, listTree(t, out))
}

// Names Windows cannot hold are refused there (the check runs on every
// system; it applies on Windows only).
func TestFileNameProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rel, goos string
		want      string // in the reason; "" for none
	}{
		{"a/b.txt", "linux", ""},
		{"a:b", "linux", ""},
		{"a:b", "windows", "Windows"},
		{`x/a\b`, "windows", "Windows"},
		{"x/" + strings.Repeat("n", MaxFileName), "linux", ""},
		{"x/" + strings.Repeat("n", MaxFileName+1) + "/y", "linux", "256 bytes"},
		{"x/.git/y", "linux", ".git"},
		{".folio/y", "linux", "repository's folder"},
	} {
		got := fileNameProblem(tc.rel, ".folio", tc.goos)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("fileNameProblem(%.30q, %s) = %q, want %q", tc.rel, tc.goos, got, tc.want)
		}
	}
}
