package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
)

var ada = objects.Signature{Name: "Ada", Email: "ada@example.com"}

// newTestRepo makes a repository on a real Badger store in a temp dir.
func newTestRepo(t *testing.T) *Repo {
	t.Helper()
	r, err := Init(context.Background(), t.TempDir(), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// newMemRepo makes a repository whose objects live in memory.
func newMemRepo(t *testing.T) *Repo {
	t.Helper()
	r, err := Init(context.Background(), t.TempDir(), "", Options{Store: memstore.New()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func put(t *testing.T, r *Repo, key, content string) {
	t.Helper()
	ctx := context.Background()
	e, err := r.WriteDocumentBytes(ctx, []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.StageEdits(ctx, objects.BranchPrefix+"main", []Edit{{Key: key, Entry: e}}); err != nil {
		t.Fatal(err)
	}
}

func commit(t *testing.T, r *Repo, msg string, sec int64) objects.ID {
	t.Helper()
	id, err := r.Commit(context.Background(), objects.BranchPrefix+"main",
		CommitOptions{Message: msg, Author: ada, Time: time.Unix(1_700_000_000+sec, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func get(t *testing.T, r *Repo, rev, key string) string {
	t.Helper()
	ctx := context.Background()
	_, e, err := r.ResolveDocument(ctx, rev, key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := r.ReadDocument(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestCommitAndRead(t *testing.T) {
	for name, mk := range map[string]func(*testing.T) *Repo{"badger": newTestRepo, "memory": newMemRepo} {
		t.Run(name, func(t *testing.T) {
			r := mk(t)
			put(t, r, "a.txt", "one\n")
			c1 := commit(t, r, "first", 1)
			put(t, r, "a.txt", "two\n")
			c2 := commit(t, r, "second", 2)
			if got := get(t, r, "HEAD", "a.txt"); got != "two\n" {
				t.Errorf("HEAD:a.txt = %q", got)
			}
			if got := get(t, r, "HEAD~1", "a.txt"); got != "one\n" {
				t.Errorf("HEAD~1:a.txt = %q", got)
			}
			for rev, want := range map[string]objects.ID{
				"HEAD": c2, "main": c2, "refs/heads/main": c2, "HEAD^": c1, "HEAD~": c1, "HEAD^1": c1,
				"main~1": c1, c1.String(): c1, c1.String()[:7]: c1, strings.ToUpper(c2.String()[:9]): c2, "HEAD^0": c2,
			} {
				got, err := r.ResolveRevision(context.Background(), rev)
				if err != nil || got != want {
					t.Errorf("ResolveRevision(%q) = %s, %v; want %s", rev, got.Short(), err, want.Short())
				}
			}
			for _, rev := range []string{"HEAD~2", "HEAD^2", "nope", "abc", "HEAD~x", "", c1.String()[:3]} {
				if _, err := r.ResolveRevision(context.Background(), rev); !errors.Is(err, ErrUnknownRevision) {
					t.Errorf("ResolveRevision(%q) error = %v, want ErrUnknownRevision", rev, err)
				}
			}
			c, err := r.ReadCommit(context.Background(), c2)
			if err != nil {
				t.Fatal(err)
			}
			if c.Height != 2 || len(c.Parents) != 1 || c.Parents[0] != c1 || c.Author != ada {
				t.Errorf("commit %+v", c)
			}
		})
	}
}

func TestNothingToCommit(t *testing.T) {
	r := newMemRepo(t)
	ctx := context.Background()
	if _, err := r.Commit(ctx, objects.BranchPrefix+"main", CommitOptions{Message: "x", Author: ada}); !errors.Is(err, ErrNothingToCommit) {
		t.Fatalf("empty commit: %v", err)
	}
	put(t, r, "k", "v")
	commit(t, r, "first", 1)
	// Staging the same content again stages nothing.
	put(t, r, "k", "v")
	if _, err := r.Commit(ctx, objects.BranchPrefix+"main", CommitOptions{Message: "x", Author: ada}); !errors.Is(err, ErrNothingToCommit) {
		t.Fatalf("commit of unchanged content: %v", err)
	}
	if ref, _ := r.RefOrZero(ctx, WorkingSetRef(objects.BranchPrefix+"main")); !ref.IsZero() {
		t.Error("a working set equal to the head is still stored")
	}
}

func TestStaleWorkingSetRefusesCommit(t *testing.T) {
	r := newMemRepo(t)
	ctx := context.Background()
	put(t, r, "k", "v1")
	c1 := commit(t, r, "first", 1)
	put(t, r, "k", "v2")
	// Another writer moves the branch (a push, the doc API).
	other := &objects.Commit{Index: objects.ID{}, Parents: []objects.ID{c1}, Author: ada, Time: time.Unix(5, 0).UTC(), Message: "elsewhere"}
	id, err := r.WriteCommit(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: objects.BranchPrefix + "main", Old: c1, New: id}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Commit(ctx, objects.BranchPrefix+"main", CommitOptions{Message: "x", Author: ada})
	if !errors.Is(err, ErrStaleWorkingSet) {
		t.Fatalf("commit on a moved branch: %v", err)
	}
	if head, _ := r.RefOrZero(ctx, objects.BranchPrefix+"main"); head != id {
		t.Error("the refused commit moved the branch")
	}
}

func TestConcurrentStagingLosesNothing(t *testing.T) {
	r := newTestRepo(t)
	ctx := context.Background()
	const writers = 8
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			key := fmt.Sprintf("doc%d", i)
			e, err := r.WriteDocumentBytes(ctx, []byte(key))
			if err != nil {
				errs <- err
				return
			}
			for {
				_, err := r.StageEdits(ctx, objects.BranchPrefix+"main", []Edit{{Key: key, Entry: e}})
				if !errors.Is(err, objects.ErrRefChanged) {
					errs <- err
					return
				}
			}
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s, err := r.LoadStaged(ctx, objects.BranchPrefix+"main")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.Tree().Count(ctx, s.Index); err != nil || n != writers {
		t.Fatalf("staged %d documents (%v), want %d", n, err, writers)
	}
}

func TestLargeDocumentsAreChunkedAndStreamed(t *testing.T) {
	r := newTestRepo(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 1))
	var text bytes.Buffer
	for text.Len() < 6<<20 {
		fmt.Fprintf(&text, "line %d %x\n", text.Len(), rng.Uint64())
	}
	binary := make([]byte, 3<<20+17)
	for i := range binary {
		binary[i] = byte(rng.Uint32())
	}
	jsonDoc := []byte(`{"items":[` + strings.Repeat(`{"a":"xxxxxxxxxxxxxxxxxxxxxxxx"},`, 60000) + `{}]}`)
	for name, c := range map[string]struct {
		content []byte
		kind    objects.Kind
	}{"text": {text.Bytes(), objects.KindText}, "binary": {binary, objects.KindBinary}, "json": {jsonDoc, objects.KindJSON}} {
		t.Run(name, func(t *testing.T) {
			// A reader that returns odd-sized pieces must give the same ID.
			e1, err := r.WriteDocument(ctx, &oddReader{data: c.content})
			if err != nil {
				t.Fatal(err)
			}
			e2, err := r.WriteDocumentBytes(ctx, c.content)
			if err != nil {
				t.Fatal(err)
			}
			if e1 != e2 {
				t.Fatalf("entries differ by read pattern: %+v vs %+v", e1, e2)
			}
			if e1.Kind != c.kind || e1.Size != uint64(len(c.content)) {
				t.Errorf("entry %+v, want kind %s size %d", e1, c.kind, len(c.content))
			}
			data, _ := r.Store().Get(ctx, e1.ID)
			doc, err := objects.DecodeChunked(data)
			if err != nil {
				t.Fatalf("large document is not chunked: %v", err)
			}
			for _, ch := range doc.Chunks {
				if ch.Size > chunkMax {
					t.Errorf("chunk of %d bytes", ch.Size)
				}
			}
			back, err := r.ReadDocument(ctx, e1)
			if err != nil || !bytes.Equal(back, c.content) {
				t.Fatalf("read back %d bytes (%v), want %d", len(back), err, len(c.content))
			}
		})
	}
	// An edit in the middle of a large document stores few new chunks.
	edited := bytes.Clone(text.Bytes())
	copy(edited[3<<20:], "EDITED")
	before, _ := r.WriteDocumentBytes(ctx, text.Bytes())
	after, _ := r.WriteDocumentBytes(ctx, edited)
	chunksOf := func(e objects.Entry) map[objects.ID]bool {
		data, _ := r.Store().Get(ctx, e.ID)
		doc, _ := objects.DecodeChunked(data)
		m := map[objects.ID]bool{}
		for _, ch := range doc.Chunks {
			m[ch.ID] = true
		}
		return m
	}
	old, changed := chunksOf(before), 0
	for id := range chunksOf(after) {
		if !old[id] {
			changed++
		}
	}
	if changed > 2 {
		t.Errorf("a 6-byte edit changed %d chunks", changed)
	}
}

type oddReader struct {
	data []byte
	n    int
}

func (o *oddReader) Read(p []byte) (int, error) {
	if len(o.data) == 0 {
		return 0, errEOF
	}
	o.n++
	size := min(len(p), len(o.data), 1+o.n*7919%65536)
	copy(p, o.data[:size])
	o.data = o.data[size:]
	return size, nil
}

var errEOF = func() error { _, err := bytes.NewReader(nil).Read(nil); return err }()

func TestImportExportRoundTrip(t *testing.T) {
	r := newTestRepo(t)
	ctx := context.Background()
	src := t.TempDir()
	files := map[string]string{"a.json": `{"a":1}`, "dir/b.txt": "b\n", "dir/deep/c.bin": "\x00\x01", ".hidden": "h"}
	for name, content := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	os.MkdirAll(filepath.Join(src, ".git"), 0o755)
	os.WriteFile(filepath.Join(src, ".git", "config"), []byte("x"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(src, "link"))
	rep, err := r.Import(ctx, objects.BranchPrefix+"main", src, "pre/fix")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != len(files) || len(rep.Skipped) != 1 {
		t.Errorf("import report %+v", rep)
	}
	id := commit(t, r, "import", 1)
	out := t.TempDir()
	if _, err := r.Export(ctx, id, out, ExportOptions{Prefix: "pre/fix"}); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil || string(got) != content {
			t.Errorf("%s exported as %q (%v), want %q", name, got, err, content)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "link")); err == nil {
		t.Error("symlink was imported")
	}
}

func TestImportWithAnInvalidKeyStagesNothing(t *testing.T) {
	r := newMemRepo(t)
	ctx := context.Background()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "good.txt"), []byte("g"), 0o644)
	os.WriteFile(filepath.Join(src, "bad\x01name"), []byte("b"), 0o644)
	if _, err := r.Import(ctx, objects.BranchPrefix+"main", src, ""); !errors.Is(err, objects.ErrInvalidKey) {
		t.Fatalf("import: %v", err)
	}
	s, _ := r.LoadStaged(ctx, objects.BranchPrefix+"main")
	if s.HasChanges() {
		t.Error("a failed import staged changes")
	}
}

func TestExportClashChangesNothing(t *testing.T) {
	r := newMemRepo(t)
	ctx := context.Background()
	put(t, r, "a", "doc")
	put(t, r, "a-b", "doc")
	put(t, r, "a/b", "doc under a")
	id := commit(t, r, "c", 1)
	out := filepath.Join(t.TempDir(), "out")
	if _, err := r.Export(ctx, id, out, ExportOptions{}); !errors.Is(err, ErrExportRefused) {
		t.Fatalf("export: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused export created its folder")
	}
}

func TestBranches(t *testing.T) {
	r := newMemRepo(t)
	ctx := context.Background()
	if err := r.CreateBranch(ctx, "x", objects.ID{}); !errors.Is(err, ErrNoCommits) {
		t.Errorf("branch on an unborn head: %v", err)
	}
	put(t, r, "k", "v")
	c1 := commit(t, r, "first", 1)
	if err := r.CreateBranch(ctx, "feature", c1); err != nil {
		t.Fatal(err)
	}
	if err := r.CreateBranch(ctx, "feature", c1); !errors.Is(err, ErrBranchExists) {
		t.Errorf("second create: %v", err)
	}
	if err := r.CreateBranch(ctx, "bad..name", c1); !errors.Is(err, objects.ErrInvalidRef) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := r.DeleteBranch(ctx, "main"); !errors.Is(err, ErrCurrentBranch) {
		t.Errorf("deleting the current branch: %v", err)
	}
	// Staged changes stay with their branch.
	put(t, r, "staged-on-main", "x")
	if err := r.Switch(ctx, "feature", false); err != nil {
		t.Fatal(err)
	}
	s, _ := r.LoadStaged(ctx, objects.BranchPrefix+"feature")
	if s.HasChanges() {
		t.Error("main's staged change followed the switch")
	}
	if err := r.Switch(ctx, "main", false); err != nil {
		t.Fatal(err)
	}
	s, _ = r.LoadStaged(ctx, objects.BranchPrefix+"main")
	if !s.HasChanges() {
		t.Error("main's staged change was lost")
	}
	if _, err := r.DeleteBranch(ctx, "feature"); err != nil {
		t.Fatal(err)
	}
	if err := r.Switch(ctx, "feature", false); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("switch to a deleted branch: %v", err)
	}
}

func TestFsckFindsMissingAndCorruptObjects(t *testing.T) {
	store := memstore.New()
	r, err := Init(context.Background(), t.TempDir(), "", Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put(t, r, "a", "alpha")
	put(t, r, "b", "beta")
	commit(t, r, "c", 1)
	rep, err := r.Fsck(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("fsck of a good repository: %+v %v", rep, err)
	}
	// A ref pointing at a commit whose blob is missing.
	ghost := objects.EncodeBlob([]byte("never stored"))
	e := objects.Entry{ID: ghost.ID, Kind: objects.KindText, Size: 12}
	root, err := r.Tree().Edit(ctx, objects.ID{}, []Edit{{Key: "ghost", Entry: e}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := r.WriteCommit(ctx, &objects.Commit{Index: root, Author: ada, Time: time.Unix(1, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	store.UpdateRefs(ctx, objects.RefUpdate{Name: objects.TagPrefix + "broken", New: id})
	// And a stored object whose bytes do not match its ID.
	bad := objects.EncodeBlob([]byte("original"))
	store.Put(ctx, objects.Object{ID: bad.ID, Data: objects.EncodeBlob([]byte("tampered")).Data})
	rep, err = r.Fsck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sawMissing, sawCorrupt bool
	for _, p := range rep.Problems {
		sawMissing = sawMissing || (p.ID == ghost.ID && p.Ref == objects.TagPrefix+"broken")
		sawCorrupt = sawCorrupt || p.ID == bad.ID
	}
	if !sawMissing || !sawCorrupt {
		t.Errorf("fsck problems %+v: missing found %v, corrupt found %v", rep.Problems, sawMissing, sawCorrupt)
	}
}

func TestWalkOrder(t *testing.T) {
	r := newMemRepo(t)
	ctx := context.Background()
	var ids []objects.ID
	for i := range 5 {
		put(t, r, "k", fmt.Sprint(i))
		ids = append(ids, commit(t, r, fmt.Sprint(i), int64(i)))
	}
	var got []objects.ID
	r.Walk(ctx, []objects.ID{ids[4]}, func(id objects.ID, c *objects.Commit) error {
		got = append(got, id)
		if len(got) == 3 {
			return ErrStop
		}
		return nil
	})
	want := []objects.ID{ids[4], ids[3], ids[2]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("walk %v, want %v", got, want)
	}
}

func TestOpenRefusesUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	r, err := Init(context.Background(), dir, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	os.WriteFile(filepath.Join(dir, DirName, formatFile), []byte("folio-repository 2 sha256\n"), 0o644)
	if _, err := Open(context.Background(), filepath.Join(dir, DirName), Options{}); !errors.Is(err, ErrUnknownRepoFormat) {
		t.Fatalf("open: %v", err)
	}
}

// fsck reports a map whose nodes do not fit together, and an index entry
// naming an object of the wrong type, instead of calling them clean.
func TestFsckFindsDamagedMaps(t *testing.T) {
	store := memstore.New()
	r, err := Init(context.Background(), t.TempDir(), "", Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	blob := objects.EncodeBlob([]byte("x"))
	leaf := (&objects.Node{Items: []objects.NodeItem{{Key: "a", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}}}}).Encode()
	// The root claims its child holds 5 entries; it holds 1.
	root := (&objects.Node{Level: 1, Items: []objects.NodeItem{{Key: "a", Entry: objects.Entry{ID: leaf.ID, Size: 5}}}}).Encode()
	commitData := (&objects.Commit{Index: root.ID, Height: 1, Author: ada, Time: time.Unix(1, 0).UTC()}).Encode()
	// A leaf naming a commit as a document.
	wrongKind := (&objects.Node{Items: []objects.NodeItem{{Key: "b", Entry: objects.Entry{ID: commitData.ID, Kind: objects.KindJSON, Size: 1}}}}).Encode()
	second := (&objects.Commit{Index: wrongKind.ID, Height: 1, Author: ada, Time: time.Unix(2, 0).UTC()}).Encode()
	store.Put(ctx, blob, leaf, root, commitData, wrongKind, second)
	store.UpdateRefs(ctx, objects.RefUpdate{Name: objects.TagPrefix + "damaged", New: commitData.ID},
		objects.RefUpdate{Name: objects.TagPrefix + "wrongkind", New: second.ID})
	rep, err := r.Fsck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var damaged, kind bool
	for _, p := range rep.Problems {
		damaged = damaged || (p.ID == root.ID && strings.Contains(p.Message, "damaged"))
		kind = kind || (p.ID == commitData.ID && strings.Contains(p.Message, "names a commit"))
	}
	if !damaged || !kind {
		t.Errorf("fsck problems %+v: damaged map found %v, wrong kind found %v", rep.Problems, damaged, kind)
	}
}

// Large files are imported streaming, as the same chunked document a
// direct write makes.
func TestImportLargeFile(t *testing.T) {
	r := newTestRepo(t)
	ctx := context.Background()
	src := t.TempDir()
	var big bytes.Buffer
	for i := 0; big.Len() < 3<<20; i++ {
		fmt.Fprintf(&big, "line %d of a large file\n", i)
	}
	os.WriteFile(filepath.Join(src, "big.txt"), big.Bytes(), 0o644)
	if _, err := r.Import(ctx, objects.BranchPrefix+"main", src, ""); err != nil {
		t.Fatal(err)
	}
	s, _ := r.LoadStaged(ctx, objects.BranchPrefix+"main")
	got, err := r.Lookup(ctx, s.Index, "big.txt")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := r.WriteDocumentBytes(ctx, big.Bytes())
	if got != want || got.Kind != objects.KindText {
		t.Errorf("imported %+v, written %+v", got, want)
	}
}
