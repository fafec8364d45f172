package badgerstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// badgerLogger adapts Badger's logging to slog. Only errors pass: Badger's
// info and warning chatter is noise on a terminal, and a nil logger keeps
// Badger entirely silent.
func badgerLogger(l *slog.Logger) badger.Logger {
	if l == nil {
		return nil
	}
	return errorsOnly{l}
}

type errorsOnly struct{ l *slog.Logger }

func (e errorsOnly) Errorf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	e.l.LogAttrs(context.Background(), slog.LevelError, "badger: "+msg)
}

func (errorsOnly) Warningf(string, ...any) {}
func (errorsOnly) Infof(string, ...any)    {}
func (errorsOnly) Debugf(string, ...any)   {}
