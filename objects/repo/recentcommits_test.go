package repo

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// Commits kept decoded stay within their share of Options.RecentBytes
// whatever they hold: a pusher's commits with long author and committer
// names cost what those names take.
func TestRecentCommitsStayWithinTheirBudget(t *testing.T) {
	ctx := context.Background()
	const budget = 4 << 20 // a quarter of it for commits
	r, err := Init(ctx, t.TempDir(), "", Options{RecentBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	const n, nameBytes = 64, 256 << 10 // 16 MiB of names
	var ids []objects.ID
	for i := range n {
		name := strings.Repeat(string(rune('a'+i%26)), nameBytes/2) + strings.Repeat("x", i)
		id, err := r.WriteCommit(ctx, &objects.Commit{
			Author:    objects.Signature{Name: name, Email: "e"},
			Committer: objects.Signature{Name: name, Email: "e"},
			Time:      time.Unix(1_700_000_000, 0).UTC(), Message: "m",
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	before := heapInUse()
	for _, id := range ids {
		if _, err := r.ReadCommit(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// The store's recent objects (their bytes) and the commits: within
	// the budget, with a few MiB for the rest.
	if grew := heapInUse() - before; grew > budget+4<<20 {
		t.Errorf("reading %d commits of %d KiB of names kept %d MiB, budget %d MiB", n, nameBytes>>10, grew>>20, budget>>20)
	}
	runtime.KeepAlive(r)
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
