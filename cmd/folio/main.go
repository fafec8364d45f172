// Command folio is the command-line interface of folio, a versioned
// document store where every clone is a leader. It parses flags, calls the
// objects, merge and remote packages, prints, and maps errors to exit
// codes in one place (exit.go).
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(Main()) }

// Main runs folio with the process's arguments and streams and returns the
// exit code. Tests run it in a subprocess through testscript.
func Main() int {
	return run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCommand(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	return a.exit(err)
}
