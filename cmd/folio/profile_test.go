package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestProfiles: FOLIO_CPUPROFILE and FOLIO_TRACE write a CPU profile (a
// gzipped protocol buffer) and an execution trace of one real command,
// and the command's output is the same as without them.
func TestProfiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustFolio(t, dir, "init")
	prof, trace := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "run.trace")
	cmd := folioCmd(dir, "status")
	cmd.Env = append(cmd.Env, cpuProfileEnv+"="+prof, traceEnv+"="+trace)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("folio status with profiles: %v\n%s", err, out)
	}
	plain, err := folioCmd(dir, "status").CombinedOutput()
	if err != nil || !bytes.Equal(out, plain) {
		t.Errorf("output with profiles:\n%s\nwithout:\n%s (%v)", out, plain, err)
	}
	if data, err := os.ReadFile(prof); err != nil || !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		t.Errorf("CPU profile: %d bytes, %v; want a gzip stream", len(data), err)
	}
	if data, err := os.ReadFile(trace); err != nil || !bytes.HasPrefix(data, []byte("go 1.")) {
		t.Errorf("trace: %.20q, %v; want a Go execution trace", data, err)
	}
}
