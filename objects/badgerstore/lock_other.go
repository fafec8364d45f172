//go:build !unix

package badgerstore

import (
	"fmt"
	"runtime"
	"time"
)

type dirLock struct{}

func lockDir(dir string, shared bool, wait time.Duration) (*dirLock, error) {
	return nil, fmt.Errorf("badgerstore: locking is not implemented on %s", runtime.GOOS)
}

func (*dirLock) release() error { return nil }
