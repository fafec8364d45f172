package badgerstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// valueLogSyncFailed begins what Badger logs when it cannot sync its value
// log (valueLog.write); it returns no error for it.
const valueLogSyncFailed = "Error while curlf sync"

// badgerLogger adapts Badger's logging to slog. Only errors pass: Badger's
// info and warning chatter is noise on a terminal; a nil l keeps Badger
// silent. A failed value-log sync is also recorded in failed (if not nil).
func badgerLogger(l *slog.Logger, failed *syncFailure) badger.Logger {
	if l == nil && failed == nil {
		return nil
	}
	return errorsOnly{l, failed}
}

type errorsOnly struct {
	l      *slog.Logger
	failed *syncFailure
}

func (e errorsOnly) Errorf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	if e.failed != nil && strings.HasPrefix(format, valueLogSyncFailed) {
		e.failed.record(msg)
	}
	if e.l != nil {
		e.l.LogAttrs(context.Background(), slog.LevelError, "badger: "+msg)
	}
}

func (errorsOnly) Warningf(string, ...any) {}
func (errorsOnly) Infof(string, ...any)    {}
func (errorsOnly) Debugf(string, ...any)   {}

// syncFailure remembers that Badger could not sync its value log. Badger
// logs that and goes on: the write it was part of returns success though
// its large values may not be on disk, and a second fsync would succeed
// (the kernel reports a failed write-back once, then forgets it). So the
// store takes it as fatal, as PostgreSQL does since "fsyncgate": the Put
// fails, and every write after it, until the store is opened again.
type syncFailure struct{ msg atomic.Pointer[string] }

func (f *syncFailure) record(msg string) { f.msg.CompareAndSwap(nil, &msg) }

// err is ErrSyncFailed with Badger's message once a sync failed, else nil.
func (f *syncFailure) err() error {
	if f == nil {
		return nil
	}
	if msg := f.msg.Load(); msg != nil {
		return fmt.Errorf("%w (%s): what this session wrote may not be on disk; check the disk, then open the repository again", ErrSyncFailed, *msg)
	}
	return nil
}
