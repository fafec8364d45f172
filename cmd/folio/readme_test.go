package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeSections are the README's stretches (from one heading to another)
// whose shell blocks must run as written, in order, in a new empty folder:
// the tour, servers and the document API, then continuous replication.
// The change feed's blocks wait on streams and are left out.
var readmeSections = [][2]string{
	{"## A short tour", "### Change feed"},
	{"### Continuous replication", "### folio as a git merge driver"},
}

// TestREADME pastes the README's tour, server and replication blocks into one bash
// process with the folio under test on PATH, so the README cannot drift
// from what folio does. The servers' fixed ports are swapped for free ones.
func TestREADME(t *testing.T) {
	t.Parallel()
	needShellTools(t)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script := readmeBlocks(t, string(readme))
	for _, port := range []string{"7420", "7421", "7431", "7432", "7433"} {
		script = strings.ReplaceAll(script, "127.0.0.1:"+port, freeAddr(t))
	}

	work, home, bin := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.Symlink(os.Args[0], filepath.Join(bin, "folio")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The servers the blocks start in the background end with the script,
	// as the README's "kill %1 %2" ends them, and also when a block fails:
	// left running, they would hold the output pipe open and the test
	// would wait on it.
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -eo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n"+script)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), runAsFolio+"=1", "HOME="+home,
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FOLIO_CONFIG_GLOBAL="+filepath.Join(home, "global.json"),
		"FOLIO_CREDENTIALS="+filepath.Join(home, "credentials.json"),
		"FOLIO_TOKEN=", "FOLIO_DIR=", "FOLIO_AUTHOR_NAME=", "FOLIO_AUTHOR_EMAIL=", "FOLIO_AUTHOR_DATE=")
	// The blocks start servers in the background: end them with the shell.
	endWithGroup(t, cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's blocks fail: %v\nscript:\n%s\noutput:\n%s", err, script, out)
	}
	for _, want := range []string{"CONFLICT users/ada.json", ": 0 problems", "Cloned", "main: pushed",
		`{"city": "Lisbon"}`, `"connected":true`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the README's blocks ran, but their output lacks %q:\n%s", want, out)
		}
	}
}

// needShellTools skips a test of shell scripts where bash or curl is
// missing.
func needShellTools(t *testing.T) {
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the script needs %s: %v", tool, err)
		}
	}
}

// endWithGroup runs cmd in a process group of its own that is killed
// whole when the test ends or its context does, so servers a script
// started in the background cannot outlive it or hold its output open.
func endWithGroup(t *testing.T, cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second // a server that escaped still cannot hold the test
	t.Cleanup(func() {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
}

// readmeBlocks returns the ```sh blocks of readmeSections.
func readmeBlocks(t *testing.T, readme string) string {
	t.Helper()
	var blocks []string
	for _, sec := range readmeSections {
		_, rest, ok := strings.Cut(readme, "\n"+sec[0])
		if !ok {
			t.Fatalf("README.md has no %q section", sec[0])
		}
		section, _, ok := strings.Cut(rest, "\n"+sec[1])
		if !ok {
			t.Fatalf("README.md has no %q section", sec[1])
		}
		for {
			_, after, ok := strings.Cut(section, "\n```sh\n")
			if !ok {
				break
			}
			block, tail, ok := strings.Cut(after, "\n```\n")
			if !ok {
				t.Fatalf("README.md: a ```sh block is not closed")
			}
			blocks = append(blocks, block)
			section = tail
		}
	}
	if len(blocks) < 5 {
		t.Fatalf("README.md: only %d shell blocks in the sections pasted", len(blocks))
	}
	return strings.Join(blocks, "\n") + "\n"
}

// freeAddr is a 127.0.0.1 address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
