package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/wire"
)

// Exit codes, documented in `folio help`.
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitConflicts = 3
)

const exitCodesHelp = `Exit status:
  0  success
  1  failure (the message says what went wrong and what to do)
  2  bad usage: unknown command or flag, wrong arguments
  3  finished, but conflicts were recorded (merge, pull, sync)
  merge-file follows git merge-file: 0 clean, else the number of conflicts (at most 127)`

// usageError marks a mistake in how folio was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// conflictsRecorded reports a command that succeeded but recorded
// conflicts; it exits 3 after the command printed its report.
type conflictsRecorded struct{ n int }

func (e *conflictsRecorded) Error() string {
	return fmt.Sprintf("%d conflict(s) recorded; see 'folio conflicts'", e.n)
}

// exitCode is an error that carries its own status and prints nothing
// (merge-file's conflict count).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// hints say what to do about common errors.
var hints = []struct {
	err  error
	hint string
}{
	{repo.ErrNoRepository, "run 'folio init' to create one, or pass --repo"},
	{badgerstore.ErrLocked, "another folio process is using this repository; try again when it finishes"},
	{repo.ErrNothingToCommit, "stage changes with 'folio put', 'folio rm', 'folio mv' or 'folio import' first"},
	{objects.ErrRefChanged, "another writer moved it first; look again and retry"},
	{wire.ErrUnauthorized, "set $FOLIO_TOKEN, or store a token with 'folio login URL' (servers make them with 'folio serve token add')"},
	{wire.ErrForbidden, "this token is read-only or not for this repository; writes need a read-write token"},
	{repo.ErrUnknownRevision, "see 'folio log' and 'folio branch' for what exists"},
	{repo.ErrNoCommits, "make a first commit with 'folio commit -m MSG'"},
	{repo.ErrStagedChanges, ""},
	{objects.ErrNoSpace, "free some space on that disk and try again; nothing was written, and reads still work"},
	{objects.ErrDamaged, "the repository's files changed under it (disk or file damage): 'folio fsck' lists what is damaged, 'folio fsck --repair [REMOTE]' fetches good copies from another leader"},
	{objects.ErrRefDamaged, "'folio fsck' lists the damaged refs; 'folio fsck --repair' removes them and prints how to set each again"},
	{objects.ErrUnknownFormat, "this repository was written by a newer folio; upgrade folio"},
	{repo.ErrUnknownRepoFormat, ""},
	{client.ErrTimeout, "check that the remote is up and reachable, or wait longer with --timeout or 'folio config " + remote.TimeoutKey + " 2m'"},
	{client.ErrNotFolio, "check the URL: it should name a repository served by 'folio serve' (see 'folio remote list')"},
}

// exit prints err (if any) and returns the process exit code.
func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	var conflicts *conflictsRecorded
	if errors.As(err, &conflicts) {
		fmt.Fprintf(a.stderr, "folio: %v\n", err)
		return exitConflicts
	}
	var usage *usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(a.stderr, "folio: %v\nRun 'folio help' for usage.\n", err)
		return exitUsage
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(a.stderr, "folio: interrupted")
		return exitFailure
	}
	fmt.Fprintf(a.stderr, "folio: %s\n", describe(err))
	for _, h := range hints {
		if errors.Is(err, h.err) {
			if h.hint != "" {
				fmt.Fprintf(a.stderr, "hint: %s\n", h.hint)
			}
			break
		}
	}
	return exitFailure
}

// describe words an error for people: "no such file or folder: x" rather
// than internals, and without package prefixes.
func describe(err error) string {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("%s: no such file or folder", pathErr.Path)
	}
	return wire.UserMessage(err)
}
