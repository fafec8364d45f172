package badgerstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
)

// A process killed right after creating a log file leaves it empty;
// the store must still open, read-write and read-only.
func TestOpenAfterEmptyLogFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	obj := objects.EncodeBlob([]byte("kept"))
	if err := s.Put(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"000099.mem", "000099.vlog"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, readOnly := range []bool{true, false} {
		s, err := Open(dir, Options{ReadOnly: readOnly})
		if err != nil {
			t.Fatalf("open (read-only %v) with empty log files: %v", readOnly, err)
		}
		if ok, err := s.Has(context.Background(), obj.ID); err != nil || !ok {
			t.Errorf("object lost: %v %v", ok, err)
		}
		s.Close()
	}
}
