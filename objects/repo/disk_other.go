//go:build !unix

package repo

import "io/fs"

func allocatedSize(info fs.FileInfo) int64 { return info.Size() }
