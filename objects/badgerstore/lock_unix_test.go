//go:build unix

package badgerstore

import (
	"os"
	"os/exec"
	"testing"
)

// TestCloseReleasesLockHeldByChild: a process that inherited the lock's
// descriptor (as a child forked by another goroutine holds it until it
// execs) does not keep the store locked after Close.
func TestCloseReleasesLockHeldByChild(t *testing.T) {
	dir := newStoreDir(t)
	s := openTemp(t, dir, Options{})
	child := exec.Command("sleep", "30")
	child.ExtraFiles = []*os.File{s.lock.f}
	if err := child.Start(); err != nil {
		t.Skipf("no sleep to hold the descriptor: %v", err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("the store stays locked after Close while a child holds a copy of its descriptor: %v", err)
	}
	again.Close()
}
