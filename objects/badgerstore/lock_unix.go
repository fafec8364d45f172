//go:build unix

package badgerstore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// dirLock is an flock(2) on the store's directory, the same lock Badger
// would take itself: shared for readers, exclusive for the writer. The
// kernel drops it when the process dies, so a crash never leaves a stale
// lock behind.
type dirLock struct{ f *os.File }

// lockPoll is how often Open retries a lock held by another process.
const lockPoll = 20 * time.Millisecond

// lockDir locks dir, retrying until wait has passed.
func lockDir(dir string, shared bool, wait time.Duration) (*dirLock, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("badgerstore: %w", err)
	}
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return &dirLock{f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("badgerstore: lock %s: %w", dir, err)
		}
		if !time.Now().Before(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		time.Sleep(min(lockPoll, time.Until(deadline)))
	}
}

func (l *dirLock) release() error {
	// Unlock before closing: a process forked meanwhile (by another
	// goroutine, between its fork and exec) shares the descriptor, and
	// closing ours alone would leave the lock held until it execs.
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return l.f.Close()
}
