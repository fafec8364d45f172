package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// TestFirstImportKilled kills real folio processes at random moments of a
// first import into a new repository, the import that loads its blobs in
// bulk (objects.LeafLoader). After every kill the repository must open,
// fsck must be clean, and the import must have staged everything or
// nothing; an import run again must then stage everything. A guard: it
// passed before the leaf load too.
func TestFirstImportKilled(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	src := t.TempDir()
	const docs = 6000
	for i := range docs {
		p := filepath.Join(src, fmt.Sprintf("d%02d", i%20), fmt.Sprintf("doc%05d.json", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, fmt.Appendf(nil, `{"n": %d, "pad": "%01100d"}`, i, i*7919), 0o644)
	}
	newRepo := func() string {
		dir := t.TempDir()
		mustFolio(t, dir, "init")
		return dir
	}
	start := time.Now()
	dir := newRepo()
	mustFolio(t, dir, "import", src, "--prefix", "imp")
	took := time.Since(start)
	checkStagedAllOrNothing(t, dir, docs, "an import run to its end")

	for i := range 6 {
		dir := newRepo()
		cmd := folioCmd(dir, "import", src, "--prefix", "imp")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(took)))
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		what := fmt.Sprintf("kill %d after %v (seed %d)", i, delay, seed)
		checkRepository(t, dir, what)
		checkStagedAllOrNothing(t, dir, docs, what)
		mustFolio(t, dir, "import", src, "--prefix", "imp")
		if got := checkStagedAllOrNothing(t, dir, docs, what+", imported again"); got != docs {
			t.Fatalf("%s, imported again: %d documents staged, want %d", what, got, docs)
		}
		checkRepository(t, dir, what+", imported again")
	}
}

// checkStagedAllOrNothing returns how many documents are staged on main,
// failing unless that is all of them or none.
func checkStagedAllOrNothing(t *testing.T, dir string, docs int, what string) int {
	t.Helper()
	ctx := context.Background()
	r, err := repo.Open(ctx, filepath.Join(dir, repo.DirName), repo.Options{ReadOnly: true, LockWait: 5 * time.Second})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer r.Close()
	s, err := r.LoadStaged(ctx, objects.BranchPrefix+"main")
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !s.HasChanges() {
		return 0
	}
	keys, err := r.KeysUnder(ctx, s.Index, "imp")
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(keys) != docs {
		t.Fatalf("%s: %d documents staged, want all %d or none", what, len(keys), docs)
	}
	return len(keys)
}
