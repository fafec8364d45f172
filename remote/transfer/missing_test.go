package transfer

import (
	"context"
	"fmt"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/walktest"
)

// TestMissingCommitsHoldsOnlyItsFrontier lists every commit of a long
// linear history (what a clone sends) and checks that the live heap grows
// by little more than the 32-byte IDs it returns: the walk keeps its
// frontier, not the commits it visited. Not parallel, so the heap measured
// is this test's alone.
func TestMissingCommitsHoldsOnlyItsFrontier(t *testing.T) {
	const n = 20_000
	h := walktest.Linear(n)
	missing, err := MissingCommits(context.Background(), h, []objects.ID{h.Tip()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != n || missing[0] != h.IDs[0] || missing[n-1] != h.Tip() {
		t.Fatalf("MissingCommits listed %d commits, want all %d, root first", len(missing), n)
	}
	// The returned slice grows by doubling: at most twice the IDs.
	if g, most := h.Growth(), int64(2*n*32+64<<10); g > most {
		t.Errorf("MissingCommits over %d commits grew the heap by %d bytes, want at most %d", n, g, most)
	}
}

// A clone larger than what the sender keeps in memory is still complete
// and sends each object once: what it sent, and the commits to send, go
// to its temporary file.
func TestCloneBeyondWhatTheSenderRemembers(t *testing.T) {
	t.Parallel()
	src, dst := newRepo(t, true), newRepo(t, true)
	var tip objects.ID
	for v := range 3 {
		stage(t, src, someDocs(100, fmt.Sprint("v", v)))
		tip = commit(t, src, fmt.Sprint("version ", v))
	}
	sent := sendOnce(t, src, dst, []objects.ID{tip}, nil, 20)
	if want := closure(t, src, tip); !sameKeys(sent, want) {
		t.Errorf("the clone sent %d objects, the tip reaches %d", len(sent), len(want))
	}
}
