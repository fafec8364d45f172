package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects/repo"
)

// TestWritingCommandsRunShortSessions: every command that writes opens the
// store as a short session (repo.Options.Short: no compactors), import
// and gc excepted. A compactor that started inside a fetch of one commit
// rewrote a level of the store, half a second of CPU in one fetch in five
// on 100,000 documents; a short session that writes a lot settles on
// Close instead (badgerstore.TestLargeSessionSettles). Each command here
// fails once the store is open (no such remote or revision) or does
// nothing, which is all this test needs.
func TestWritingCommandsRunShortSessions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, code := runOpened(t, dir, nil, "init", dir); code != 0 {
		t.Fatalf("folio init: exit %d\n%s", code, out)
	}
	empty := t.TempDir()
	for args, short := range map[string]bool{
		"fetch":                true,
		"pull origin main":     true,
		"sync":                 true,
		"merge no-such-branch": true,
		"cherry-pick no-such":  true,
		"revert no-such":       true,
		"branch topic":         true,
		"import " + empty:      false,
		"gc":                   false,
	} {
		var opens []repo.Options
		out, _ := runOpened(t, dir, func(o repo.Options) { opens = append(opens, o) }, strings.Fields(args)...)
		if len(opens) == 0 {
			t.Errorf("folio %s opened no repository:\n%s", args, out)
			continue
		}
		for _, o := range opens {
			if o.ReadOnly || o.Short != short {
				t.Errorf("folio %s opened the repository with %+v, want a writable open with Short %v", args, o, short)
			}
		}
	}
}

// runOpened runs folio in process on the repository in dir, telling opened
// of each open, and returns what it printed and its exit code.
func runOpened(t *testing.T, dir string, opened func(repo.Options), args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &out, opened: opened}
	root := newRootCommand(a, commands)
	root.SetArgs(append([]string{"--repo", dir}, args...))
	root.SetIn(a.stdin)
	root.SetOut(&out)
	root.SetErr(&out)
	return out.String(), a.exit(root.ExecuteContext(context.Background()))
}
