//go:build unix

package repo

import (
	"io/fs"
	"syscall"
)

// allocatedSize is the space a file takes on disk (sparse files count what
// they use, as du does).
func allocatedSize(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}
