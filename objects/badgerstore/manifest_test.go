package badgerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// TestManifestStaysSmall: each short session adds a level-0 table, and a
// change set to Badger's MANIFEST, which Badger itself would rewrite only
// after 10,000 deletions; Close rewrites it once it passes
// manifestRewriteAt, so no open replays a longer one. The rewrite loses
// no table (every session's object is still there), a rewrite file left
// by a crash is overwritten, not read, and the MANIFEST a rewrite keeps
// is removed by the next open.
func TestManifestStaysSmall(t *testing.T) {
	defer func(at int64) { manifestRewriteAt = at }(manifestRewriteAt)
	manifestRewriteAt = 256
	dir := filepath.Join(t.TempDir(), "store")
	openTemp(t, dir, Options{Create: true}).Close()
	if err := os.WriteFile(filepath.Join(dir, manifestRewriteName), []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, badger.ManifestFilename)
	sessions, largest := 3*compactL0At, int64(0)
	shortSessions(t, dir, sessions, func(*Store) {
		info, err := os.Stat(manifest)
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, info.Size())
		if kept := keptCopies(t, dir); len(kept) != 0 {
			t.Errorf("a session opened with kept MANIFESTs %v: the open should have removed them", kept)
		}
	})
	if largest > manifestRewriteAt {
		t.Errorf("a session opened a MANIFEST of %d bytes; Close should have rewritten it past %d", largest, manifestRewriteAt)
	}
	if _, err := os.Stat(filepath.Join(dir, manifestRewriteName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the rewrite file is still there after the rewrites (%v)", err)
	}
	s := openTemp(t, dir, Options{ReadOnly: true})
	defer s.Close()
	if n := s.db.Levels()[0].NumTables; n == 0 {
		t.Error("no level-0 table: the sessions should leave some for the rewrite to list")
	}
	for session := range sessions {
		id := objects.EncodeBlob(fmt.Appendf(nil, "session %d", session)).ID
		if has, err := s.Has(t.Context(), id); err != nil || !has {
			t.Fatalf("object of session %d after the rewrites: %v, %v", session, has, err)
		}
	}
}
