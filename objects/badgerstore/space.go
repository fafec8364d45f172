package badgerstore

import (
	"fmt"

	"github.com/folio-db/folio/objects"
)

// Badger writes through memory-mapped files that it sizes up front as
// sparse files: the write-ahead log of each memtable, value-log files and
// new tables. When the filesystem has no block left for a page, the kernel
// answers the write with SIGBUS, which kills the process (no error Go can
// return) and can leave a store that needs recovery. So the store refuses
// a write early, with objects.ErrNoSpace, unless the filesystem keeps
// room for everything Badger may map while it runs: every memtable's log
// (twice its size each) plus what the write itself adds, twice over for
// the table it becomes. Reads never map new files and work on a full disk.
const defaultMinFree = 2 * numMemtables * memTableSize

// checkSpace refuses a write of about n bytes that could fill the disk.
func (s *Store) checkSpace(n int64) error {
	need := s.minFree + 2*n
	free, err := freeBytes(s.dir)
	if err != nil {
		return fmt.Errorf("badgerstore: free space in %s: %w", s.dir, err)
	}
	if free < need {
		return fmt.Errorf("%w: %s free in %s, and folio keeps %s free to write safely",
			objects.ErrNoSpace, mib(free), s.dir, mib(need))
	}
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
