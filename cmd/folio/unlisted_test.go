package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A MANIFEST cut back to before the last commit, then real folio
// processes: 'folio log' warns that tables were set aside, 'folio fsck'
// counts what they hold and fails (it said "0 problems" after Badger had
// deleted them), --verbose lists it, and 'folio fsck --repair' takes the
// objects back, still listing the branch it cannot verify, with the
// command that sets it; once a person runs that, fsck is clean.
func TestCutManifestIsReported(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustFolio(t, dir, "init")
	folioPut := func(key, content string) {
		cmd := folioCmd(dir, "put", key, "-")
		cmd.Stdin = strings.NewReader(content)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("folio put: %v\n%s", err, out)
		}
	}
	folioPut("a", "alpha")
	mustFolio(t, dir, "commit", "-m", "one")
	manifest := filepath.Join(dir, ".folio", "db", "MANIFEST")
	info, err := os.Stat(manifest)
	if err != nil {
		t.Fatal(err)
	}
	folioPut("b", "beta")
	mustFolio(t, dir, "commit", "-m", "two")
	if err := os.Truncate(manifest, info.Size()); err != nil {
		t.Fatal(err)
	}

	out, err := folioCmd(dir, "log").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "MANIFEST does not list") {
		t.Errorf("folio log: %v; want a warning about the set-aside tables:\n%s", err, out)
	}
	out, err = folioCmd(dir, "fsck", "--verbose").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "object found only in") || strings.Contains(string(out), " 0 problems") {
		t.Errorf("folio fsck --verbose: %v; want it to fail, listing the set-aside objects:\n%s", err, out)
	}
	out, err = folioCmd(dir, "fsck", "--repair").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "holds 0 objects and 1 refs") {
		t.Errorf("folio fsck --repair: %v; want the objects taken back, the branch still counted:\n%s", err, out)
	}
	out, err = folioCmd(dir, "fsck", "--verbose").CombinedOutput()
	if err == nil || strings.Contains(string(out), "object found only in") || !strings.Contains(string(out), "ref refs/heads/main names this") {
		t.Errorf("folio fsck --verbose after --repair: %v; want the objects taken back, the branch still listed:\n%s", err, out)
	}
	advice := regexp.MustCompile(`'folio (branch -f main [0-9a-f]{64})'`).FindSubmatch(out)
	if advice == nil {
		t.Fatalf("fsck names no command that sets main:\n%s", out)
	}
	mustFolio(t, dir, strings.Fields(string(advice[1]))...)
	if out, err := folioCmd(dir, "fsck").CombinedOutput(); err != nil {
		t.Errorf("folio fsck after %q: %v\n%s", advice[1], err, out)
	}
	if out, err := folioCmd(dir, "log", "--oneline").CombinedOutput(); err != nil || !strings.Contains(string(out), "two") {
		t.Errorf("main after %q lacks the second commit: %v\n%s", advice[1], err, out)
	}
}

// A bit flipped in the footer of a table file (its checksum's length):
// Badger panicked in a goroutine of its own while opening the store, and
// 'folio log' exited with code 2, which means bad usage. It must fail
// with code 1, naming the damaged file.
func TestDamagedTableFooterFailsWithCorrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustFolio(t, dir, "init")
	cmd := folioCmd(dir, "put", "a", "-")
	cmd.Stdin = strings.NewReader("alpha")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("folio put: %v\n%s", err, out)
	}
	mustFolio(t, dir, "commit", "-m", "one")
	tables, err := filepath.Glob(filepath.Join(dir, ".folio", "db", "*.sst"))
	if err != nil || len(tables) == 0 {
		t.Fatalf("no table files: %v", err)
	}
	data, err := os.ReadFile(tables[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-2] ^= 0x10
	if err := os.WriteFile(tables[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := folioCmd(dir, "log").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), filepath.Base(tables[0])+" is damaged") {
		t.Errorf("folio log: %v; want exit code 1 naming %s:\n%s", err, tables[0], out)
	}
}

// A MANIFEST cut back to before 5 puts and a commit (few enough sessions
// that none merges level 0): 'folio fsck' reports each set-aside table in
// one line with its counts, not one line per object (it printed 17: each
// session's objects and the branch); --verbose and --json keep every one.
func TestFsckSummarisesSetAsideTables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustFolio(t, dir, "init")
	manifest := filepath.Join(dir, ".folio", "db", "MANIFEST")
	info, err := os.Stat(manifest)
	if err != nil {
		t.Fatal(err)
	}
	const docs = 5
	for i := range docs {
		cmd := folioCmd(dir, "put", fmt.Sprintf("d%02d", i), "-")
		cmd.Stdin = strings.NewReader(fmt.Sprintf("document %d", i))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("folio put: %v\n%s", err, out)
		}
	}
	mustFolio(t, dir, "commit", "-m", "five")
	if err := os.Truncate(manifest, info.Size()); err != nil {
		t.Fatal(err)
	}
	out, _ := folioCmd(dir, "fsck", "--verbose").Output()
	listed := strings.Count(string(out), "object found only in")
	if listed < docs {
		t.Errorf("folio fsck --verbose: %d objects listed; want every one (%d documents and more):\n%s", listed, docs, out)
	}
	tables, err := filepath.Glob(filepath.Join(dir, ".folio", "db", "unlisted", "*.sst"))
	if err != nil {
		t.Fatal(err)
	}
	out, err = folioCmd(dir, "fsck").Output()
	summaries, counted := 0, 0
	for _, m := range regexp.MustCompile(`(?m)^\S+\.sst: .* holds (\d+) objects`).FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.Atoi(m[1])
		summaries++
		counted += n
	}
	if err == nil || strings.Contains(string(out), "object found only in") || summaries != len(tables) || counted != listed {
		t.Errorf("folio fsck: %v; want it to fail with one line for each of the %d set-aside tables, counting %d objects in all:\n%s",
			err, len(tables), listed, out)
	}
	out, _ = folioCmd(dir, "fsck", "--json").Output()
	if n := strings.Count(string(out), "object found only in"); n != listed {
		t.Errorf("folio fsck --json: %d objects listed; want every one (%d):\n%s", n, listed, out)
	}
}
