package badgerstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// removeEmptyLogs deletes zero-length write-ahead (.mem) and value-log
// (.vlog) files. A process killed between creating such a file and writing
// its header leaves one behind, and Badger then refuses to open the
// database ever again ("Create a new file"). An empty file holds no data,
// so removing it loses nothing; Badger creates a fresh one. It reports
// whether a write-ahead log with data is left, which Open replays.
func removeEmptyLogs(dir string) (memLogs bool, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("badgerstore: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".mem") && !strings.HasSuffix(name, ".vlog") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return false, fmt.Errorf("badgerstore: %w", err)
		}
		if info.Size() > 0 {
			memLogs = memLogs || strings.HasSuffix(name, ".mem")
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return false, fmt.Errorf("badgerstore: %w", err)
		}
	}
	return memLogs, nil
}
