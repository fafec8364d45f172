package badgerstore

import (
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objects.Store {
		return openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
	})
}

// The same with quarantines that keep nothing in memory: everything
// waits in the database.
func TestConformanceQuarantineInTheDatabase(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objects.Store {
		s := openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true})
		s.quarantineMemory = 0
		return s
	})
}

// The same with recent objects kept in memory (Options.RecentBytes).
func TestConformanceRecentObjects(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objects.Store {
		return openTemp(t, filepath.Join(t.TempDir(), "store"), Options{Create: true, RecentBytes: 1 << 20})
	})
}

// openTemp opens a store and fails the test if it cannot.
func openTemp(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s, %+v): %v", dir, opts, err)
	}
	return s
}
