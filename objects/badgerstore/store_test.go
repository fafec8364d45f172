package badgerstore

import (
	"path/filepath"
	"testing"
	"time"

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

// openTemp opens a store and fails the test if it cannot. It waits for
// the store's lock: a parallel test that starts a process
// (a helper, the CLI) forks this one, and the child holds every open
// file, the store's lock file with them, until it execs.
func openTemp(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.LockWait == 0 {
		opts.LockWait = 5 * time.Second
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s, %+v): %v", dir, opts, err)
	}
	return s
}
