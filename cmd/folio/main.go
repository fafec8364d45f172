package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() { os.Exit(Main()) }

// Main runs folio with the process's arguments and streams and returns the
// exit code. Tests run it in a subprocess through testscript.
func Main() int {
	tuneGC()
	stop := startProfiles(os.Stderr)
	defer stop()
	return run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// memoryLimit is the soft heap limit of a folio command unless GOMEMLIMIT
// says otherwise. The store allocates its write buffers on the Go heap, and
// without a limit the collector lets a large import grow to twice what it
// holds; with one, an import of 100,000 documents peaks near 210 MiB of
// RSS. gcPercent trades a little of that room back for less collection
// work in short commands. Commands that open a larger block cache raise
// the limit by its size (app.withRepoOpts).
const (
	memoryLimit = 170 << 20
	gcPercent   = 200
)

func tuneGC() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmds := commandsFor(args)
	if catchesSignals(cmds) {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, exits: true}
	root := newRootCommand(a, cmds)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	return a.exit(err)
}
