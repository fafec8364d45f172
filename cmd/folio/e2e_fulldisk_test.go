package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFullDisk runs real folio processes in a repository on a small tmpfs
// that a file then fills: reads still work, writes fail with a clear
// error and exit 1 (no SIGBUS, no stack trace), nothing committed is lost,
// and once space is freed writes work again. It needs permission to mount
// (root in CI); TestWritesRefusedWhenTheDiskIsFull in badgerstore covers
// the error path everywhere.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=96m"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): the full-disk test needs it", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })

	e := newE2E(t)
	e.must(mnt, "init", "r")
	dir := filepath.Join(mnt, "r")
	os.WriteFile(filepath.Join(mnt, "doc.txt"), []byte("kept\n"), 0o644)
	e.must(dir, "put", "kept.txt", "../doc.txt")
	e.must(dir, "commit", "-m", "before the disk filled")

	fill := filepath.Join(mnt, "fill")
	fillDisk(t, fill)

	for _, args := range [][]string{{"status"}, {"get", "kept.txt"}, {"log", "--oneline"}, {"ls"}, {"fsck"}, {"stats"}} {
		res := e.run(dir, args...)
		if res.code != 0 {
			t.Errorf("on a full disk, a read failed: %v", res)
		}
	}
	if got := e.must(dir, "get", "kept.txt"); got != "kept\n" {
		t.Errorf("get on a full disk: %q", got)
	}
	for _, args := range [][]string{{"put", "new.txt", "../doc.txt"}, {"commit", "-m", "x"}, {"branch", "b"}} {
		res := e.run(dir, args...)
		if res.code != 1 || !strings.Contains(res.stderr, "no space left on device") ||
			strings.Contains(res.stderr, "goroutine") || strings.Contains(res.stderr, "SIGBUS") {
			t.Errorf("a write on a full disk should fail with exit 1 and a clear error: %v", res)
		}
	}

	os.Remove(fill)
	e.must(dir, "put", "new.txt", "../doc.txt")
	e.must(dir, "commit", "-m", "after space was freed")
	e.fsckClean(dir, "after the disk was full")
	if log := e.must(dir, "log", "--oneline"); !strings.Contains(log, "before the disk filled") || !strings.Contains(log, "after space was freed") {
		t.Errorf("history after the full disk:\n%s", log)
	}
}

// fillDisk writes path until its filesystem has no space left.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	// Smaller writes take the last partial megabyte.
	for {
		if _, err := f.Write(chunk[:4096]); err != nil {
			return
		}
	}
}
