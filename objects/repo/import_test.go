package repo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
)

// putRecorder is a Badger store that records the IDs its Put took.
type putRecorder struct {
	*badgerstore.Store
	mu  sync.Mutex
	put map[objects.ID]bool
}

func (p *putRecorder) Put(ctx context.Context, objs ...objects.Object) error {
	p.mu.Lock()
	for _, o := range objs {
		p.put[o.ID] = true
	}
	p.mu.Unlock()
	return p.Store.Put(ctx, objs...)
}

// writeImportDir writes n small JSON documents under dir, plus the
// extra files given, and returns every file's content by key.
func writeImportDir(t *testing.T, dir string, n int, extra map[string][]byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for i := range n {
		files[fmt.Sprintf("docs/%05d.json", i)] = fmt.Appendf(nil, `{"n": %d, "dir": %q, "pad": "%0900d"}`, i, dir, i)
	}
	for k, v := range extra {
		files[k] = v
	}
	for k, v := range files {
		p := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, v, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// checkImported checks that the staged index holds every file with its
// content, and that fsck finds nothing wrong.
func checkImported(t *testing.T, r *Repo, files map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	s, err := r.LoadStaged(ctx, objects.BranchPrefix+"main")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range files {
		e, err := r.Lookup(ctx, s.Index, k)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		got, err := r.ReadDocument(ctx, e)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s reads back %d bytes (%v), want %d", k, len(got), err, len(want))
		}
	}
	rep, err := r.Fsck(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("fsck: %v, %+v", err, rep)
	}
}

// TestFirstImportLoadsBlobsInBulk: an import into a new store hands its
// small documents to a leaf load, not to Put (which writes them through
// Badger's write-ahead log, memtables and compactions: most of an
// import's time and memory); documents too large for the load still go
// through Put. A second import, into a store that holds objects, puts
// everything as before. Failed before the leaf load: every blob went
// through Put.
func TestFirstImportLoadsBlobsInBulk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bs, err := badgerstore.Open(filepath.Join(t.TempDir(), "store"), badgerstore.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	store := &putRecorder{Store: bs, put: map[objects.ID]bool{}}
	r, err := Init(ctx, t.TempDir(), "", Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	var large bytes.Buffer
	for i := 0; large.Len() < 3<<20; i++ {
		fmt.Fprintf(&large, "line %d of a large file\n", i)
	}
	extra := map[string][]byte{
		"mid.txt":   bytes.Repeat([]byte("a line of a 300 KiB file\n"), 300<<10/25), // past what the load takes
		"large.txt": large.Bytes(),                                                  // chunked
	}
	src := t.TempDir()
	files := writeImportDir(t, src, 2000, extra)
	if _, err := r.Import(ctx, objects.BranchPrefix+"main", src, ""); err != nil {
		t.Fatal(err)
	}
	checkImported(t, r, files)
	for k, content := range files {
		obj, _, small := EncodeSmallDocument(content)
		switch {
		case k == "mid.txt" && !store.put[obj.ID]:
			t.Errorf("%s (%d bytes) did not go through Put", k, len(content))
		case k != "mid.txt" && small && store.put[obj.ID]:
			t.Fatalf("%s (%d bytes) went through Put, not the load", k, len(content))
		}
	}

	// A second import finds objects in the store: Put, as before.
	src = t.TempDir()
	second := writeImportDir(t, src, 300, nil)
	clear(store.put)
	if _, err := r.Import(ctx, objects.BranchPrefix+"main", src, "second"); err != nil {
		t.Fatal(err)
	}
	prefixed := map[string][]byte{}
	for k, content := range second {
		obj, _, _ := EncodeSmallDocument(content)
		if !store.put[obj.ID] {
			t.Fatalf("second import: %s did not go through Put", k)
		}
		prefixed["second/"+k] = content
	}
	checkImported(t, r, prefixed)
}
