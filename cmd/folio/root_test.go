package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestCommandTable: every entry of commands is named as the command it
// builds, once, so that commandsFor finds the command a user names.
func TestCommandTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range commands {
		if got := c.build(&app{}).Name(); got != c.name {
			t.Errorf("commands lists %q, but its command is named %q", c.name, got)
		}
		if seen[c.name] {
			t.Errorf("commands lists %q twice", c.name)
		}
		seen[c.name] = true
	}
	if got := commandsFor([]string{"merge-file", "a", "b", "c"}); len(got) != 1 || got[0].name != "merge-file" {
		t.Errorf("commandsFor(merge-file ...) = %d commands, want merge-file alone", len(got))
	}
	for _, args := range [][]string{nil, {"help", "get"}, {"completion", "bash"}, {"--repo", "x", "get"}, {"gett"}} {
		if got := commandsFor(args); len(got) != len(commands) {
			t.Errorf("commandsFor(%q) = %d commands, want all %d", args, len(got), len(commands))
		}
	}
}

// TestOneCommandTreeSameAsFull: a command built alone under the root
// (commandsFor's fast path) behaves as it does in the full tree: the same
// help, flags and global flags, and the same usage error.
func TestOneCommandTreeSameAsFull(t *testing.T) {
	t.Parallel()
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "--no-such-flag"}} {
			full, fullCode := runTree(commands, args)
			alone, aloneCode := runTree([]command{c}, args)
			if full != alone || fullCode != aloneCode {
				t.Errorf("folio %s: alone gives exit %d\n%s\nfull tree gives exit %d\n%s",
					strings.Join(args, " "), aloneCode, alone, fullCode, full)
			}
		}
	}
}

// runTree runs args on a root holding cmds and returns what it printed and
// its exit code.
func runTree(cmds []command, args []string) (string, int) {
	var out bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &out}
	root := newRootCommand(a, cmds)
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(&out)
	root.SetErr(&out)
	code := a.exit(root.ExecuteContext(context.Background()))
	return out.String(), code
}

// BenchmarkCLISetUp: the CLI's own start-up for `folio version`, in
// process: the full command tree against the one command it names.
func BenchmarkCLISetUp(b *testing.B) {
	for _, bc := range []struct {
		name string
		cmds []command
	}{{"all-commands", commands}, {"one-command", commandsFor([]string{"version"})}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a := &app{stdout: io.Discard, stderr: io.Discard}
				root := newRootCommand(a, bc.cmds)
				root.SetArgs([]string{"version"})
				root.SetOut(io.Discard)
				if err := root.Execute(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSignalsCaughtButByInstantCommands: version and merge-file run alone
// set up no signal handling (its thread costs them ~0.9 ms of start-up);
// every other run turns Ctrl-C into a cancelled context, so that a
// command that holds a store or serves stops cleanly.
func TestSignalsCaughtButByInstantCommands(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]bool{
		"version":                        false,
		"merge-file -p ours base theirs": false,
		"get key":                        true,
		"serve":                          true,
		"import dir":                     true,
		"":                               true,
		"help version":                   true,
		"--repo x version":               true,
	} {
		if got := catchesSignals(commandsFor(strings.Fields(args))); got != want {
			t.Errorf("folio %s: catches signals %v, want %v", args, got, want)
		}
	}
}
