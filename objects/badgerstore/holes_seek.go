//go:build linux || darwin || freebsd

package badgerstore

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// neverWritten says whether the file f, of size bytes, ends in a hole: a
// part never written since the file was sized (unlisted.go). A file
// system that does not track holes reports none.
func neverWritten(f *os.File, size int64) bool {
	hole, err := f.Seek(0, unix.SEEK_HOLE)
	if err != nil || hole >= size {
		return false
	}
	_, err = f.Seek(hole, unix.SEEK_DATA)
	return errors.Is(err, unix.ENXIO) // no data after the hole
}
