package main

import (
	"os"
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
