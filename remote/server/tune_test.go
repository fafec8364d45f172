package server_test

import (
	"runtime/debug"
	"testing"

	"github.com/folio-db/folio/remote/server"
)

// A server collects more often than the CLI's short commands (GOGC 200,
// which serve inherited: a clone of 200,000 commits then peaked at 601 MiB
// of heap), under the soft limit for its caches; GOGC and GOMEMLIMIT set
// by the user win. Not parallel: it changes the process's settings.
func TestTuneMemory(t *testing.T) {
	limit, gc := debug.SetMemoryLimit(-1), debug.SetGCPercent(200) // as the CLI sets it
	t.Cleanup(func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(gc)
	})
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	server.TuneMemory(0, server.DefaultCacheBytes, 2)
	if got := debug.SetGCPercent(200); got != server.GCPercent || got >= 100 {
		t.Errorf("a server collects at GOGC %d, want %d (under Go's 100)", got, server.GCPercent)
	}
	if got, want := debug.SetMemoryLimit(-1), server.MemoryLimit(0, server.DefaultCacheBytes, 2); got != want {
		t.Errorf("memory limit %d, want %d", got, want)
	}

	t.Setenv("GOGC", "300")
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	server.TuneMemory(0, server.DefaultCacheBytes, 2)
	if got := debug.SetGCPercent(200); got != 200 {
		t.Errorf("with GOGC set, the server changed GOGC to %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("with GOMEMLIMIT set, the server changed the limit to %d", got)
	}
}

// Under a soft heap limit a repository's block cache is a quarter of it,
// shared by the repositories open at once, within MinCacheBytes and
// DefaultCacheBytes; without one it is DefaultCacheBytes.
func TestCacheBytesFitsTheMemoryLimit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		limit int64
		open  int
		want  int64
	}{
		{0, 1, server.DefaultCacheBytes},
		{256 << 20, 1, 64 << 20},
		{256 << 20, 4, 16 << 20},
		{64 << 20, 4, server.MinCacheBytes},
		{8 << 30, 1, server.DefaultCacheBytes},
		{256 << 20, 0, 64 << 20},
	} {
		if got := server.CacheBytes(c.limit, c.open); got != c.want {
			t.Errorf("CacheBytes(%d, %d) = %d, want %d", c.limit, c.open, got, c.want)
		}
	}
}
