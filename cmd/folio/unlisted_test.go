package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A MANIFEST cut back to before the last commit, then real folio
// processes: 'folio log' warns that tables were set aside, 'folio fsck'
// lists what they hold and fails (it said "0 problems" after Badger had
// deleted them), and 'folio fsck --repair' takes the objects back, still
// listing the branch it cannot verify.
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
	out, err = folioCmd(dir, "fsck").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "object found only in") || strings.Contains(string(out), " 0 problems") {
		t.Errorf("folio fsck: %v; want it to fail, listing the set-aside objects:\n%s", err, out)
	}
	out, err = folioCmd(dir, "fsck", "--repair").CombinedOutput()
	if err == nil || strings.Contains(string(out), "object found only in") || !strings.Contains(string(out), "ref refs/heads/main names this") {
		t.Errorf("folio fsck --repair: %v; want the objects taken back, the branch still listed:\n%s", err, out)
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
