package repo

import (
	"testing"

	"github.com/folio-db/folio/objects"
)

// HeadRef keeps the HEAD it read while the file is unchanged, and sees a
// switch made by another process (another Files on the same folder) at
// once, even a switch that keeps the file's size.
func TestHeadRefSeesOtherWriters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mine, other := &Files{dir: dir}, &Files{dir: dir}
	for _, branch := range []string{"main", "dev1", "dev2", "main"} {
		if err := other.setHead(branch); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if got, err := mine.HeadRef(); err != nil || got != objects.BranchPrefix+branch {
				t.Fatalf("after a switch to %s: HeadRef %q, %v", branch, got, err)
			}
		}
	}
}
