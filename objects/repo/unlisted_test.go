package repo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

// A MANIFEST cut back to what it was before the last commit: the table
// holding that commit is set aside (badgerstore/unlisted.go), and fsck
// says so. Before, a read-only fsck let Badger delete the table and
// reported 0 problems. A read-write open takes the commit's objects back;
// the branch, which nothing can verify, stays listed as a problem.
func TestFsckReportsSetAsideTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	r, err := Init(ctx, dir, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, r, "a", "alpha")
	commit(t, r, "one", 1)
	r.Close()
	folio := filepath.Join(dir, DirName)
	manifest := filepath.Join(folio, storeDir, "MANIFEST")
	info, err := os.Stat(manifest)
	if err != nil {
		t.Fatal(err)
	}
	r, err = Open(ctx, folio, Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, r, "b", "beta")
	head := commit(t, r, "two", 2)
	r.Close()
	if err := os.Truncate(manifest, info.Size()); err != nil {
		t.Fatal(err)
	}

	for _, readOnly := range []bool{true, false} {
		r, err := Open(ctx, folio, Options{ReadOnly: readOnly})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := r.Fsck(ctx)
		if err != nil {
			t.Fatal(err)
		}
		branch, headObject := false, false
		for _, p := range rep.Problems {
			if !strings.Contains(p.Message, "MANIFEST does not list") {
				t.Errorf("read-only %v: problem %s: %s", readOnly, p.ID.Short(), p.Message)
			}
			branch = branch || p.Ref == objects.BranchPrefix+"main" && p.ID == head
			headObject = headObject || p.Ref == "" && p.ID == head
		}
		if !branch || headObject == !readOnly {
			t.Errorf("read-only %v: fsck lists main -> %s: %v, the commit as set aside: %v; want %v, %v (problems: %v)",
				readOnly, head.Short(), branch, headObject, true, readOnly, rep.Problems)
		}
		if !readOnly {
			if got := get(t, r, head.String(), "b"); got != "beta" {
				t.Errorf("b at the commit taken back = %q", got)
			}
		}
		r.Close()
	}
}
