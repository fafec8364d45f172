package repo

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncEachFile says whether export syncs every file it writes; on Linux
// one syncfs of the target's filesystem does it for all of them at once.
const syncEachFile = false

// syncFilesystem makes everything written to dir's filesystem durable.
func syncFilesystem(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
