package prolly

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
)

// overlapStore counts the reads in flight at once. Each read waits, up to
// hold, for a second one to start: a walk that reads one node after the
// other never has two in flight, one that reads ahead does.
type overlapStore struct {
	NodeStore
	hold time.Duration

	mu             sync.Mutex
	cond           *sync.Cond
	inFlight, most int
	gets           int
}

func newOverlapStore(s NodeStore, hold time.Duration) *overlapStore {
	o := &overlapStore{NodeStore: s, hold: hold}
	o.cond = sync.NewCond(&o.mu)
	return o
}

func (o *overlapStore) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	o.mu.Lock()
	o.inFlight++
	o.gets++
	o.most = max(o.most, o.inFlight)
	o.cond.Broadcast()
	expired := false // guarded by mu
	timer := time.AfterFunc(o.hold, func() { o.mu.Lock(); expired = true; o.cond.Broadcast(); o.mu.Unlock() })
	for o.inFlight < 2 && !expired {
		o.cond.Wait()
	}
	timer.Stop()
	o.inFlight--
	o.mu.Unlock()
	return o.NodeStore.Get(ctx, id)
}

func (o *overlapStore) counts() (most, gets int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.most, o.gets
}

// TestIterateReadsLeavesAhead: a walk over many leaves has several leaf
// reads in flight at once (a store far away, or one that decompresses a
// block per node, costs a round trip or a core each), and returns every
// key in order all the same.
func TestIterateReadsLeavesAhead(t *testing.T) {
	t.Parallel()
	_, s, m, root := manyLeaves(t)
	o := newOverlapStore(s, 20*time.Millisecond)
	got := iterate(t, New(o), root, "", "")
	if want := m.keys(); !slices.Equal(got, want) {
		t.Fatalf("Iterate returned %d keys, want the %d of the map in order", len(got), len(want))
	}
	if most, _ := o.counts(); most < 2 {
		t.Errorf("at most %d reads in flight at once, want several", most)
	}
}

// TestIterateStopReadsLittleAhead: a walk stopped in its first leaf (a
// page of a listing) reads at most one leaf more than it used, and none
// of its reads is still running once Iterate has returned.
func TestIterateStopReadsLittleAhead(t *testing.T) {
	t.Parallel()
	tr, s, _, root := manyLeaves(t)
	depth := 0
	for n, err := tr.node(t.Context(), root); ; n, err = tr.node(t.Context(), n.Items[0].Entry.ID) {
		if err != nil {
			t.Fatal(err)
		}
		depth++
		if n.Level == 0 {
			break
		}
	}
	o := newOverlapStore(s, time.Millisecond)
	seen := 0
	err := New(o).Iterate(t.Context(), root, "", "", func(string, objects.Entry) error {
		seen++
		if seen == 3 {
			return ErrStop
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, gets := o.counts()
	if gets > depth+1 {
		t.Errorf("a walk stopped in its first leaf read %d nodes, want at most %d (the path and one leaf ahead)", gets, depth+1)
	}
	o.mu.Lock()
	inFlight := o.inFlight
	o.mu.Unlock()
	if inFlight != 0 {
		t.Errorf("%d reads still running after Iterate returned", inFlight)
	}
}

// TestIterateAheadReportsErrorsInOrder: a damaged leaf far ahead is not reported
// while earlier keys are still being returned, and the walk ends with its
// error when it gets there.
func TestIterateAheadReportsErrorsInOrder(t *testing.T) {
	t.Parallel()
	tr, s, m, root := manyLeaves(t)
	// the leaf that holds the key in the middle of the map
	n, err := tr.node(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	middle := seqKey(10000)
	for n.Level > 0 {
		i := 0
		for n.Items[i].Key < middle {
			i++
		}
		if n, err = tr.node(t.Context(), n.Items[i].Entry.ID); err != nil {
			t.Fatal(err)
		}
	}
	lost := errors.New("lost")
	bad := &failingStore{NodeStore: s, fail: n.Encode().ID, err: lost}
	var got []string
	err = New(bad).Iterate(t.Context(), root, "", "", func(k string, _ objects.Entry) error {
		got = append(got, k)
		return nil
	})
	if !errors.Is(err, lost) {
		t.Fatalf("Iterate = %v, want the damaged leaf's error", err)
	}
	if want := m.keys(); len(got) == 0 || !slices.Equal(got, want[:len(got)]) || got[len(got)-1] >= n.Items[0].Key {
		t.Errorf("before the error Iterate returned %d keys, want every key before the damaged leaf's first, %q", len(got), n.Items[0].Key)
	}
}

type failingStore struct {
	NodeStore
	fail objects.ID
	err  error
}

func (f *failingStore) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	if id == f.fail {
		return nil, f.err
	}
	return f.NodeStore.Get(ctx, id)
}

// prefetchStore records the batches it is told to prefetch.
type prefetchStore struct {
	NodeStore
	mu      sync.Mutex
	batches [][]objects.ID
}

func (p *prefetchStore) Prefetch(_ context.Context, ids []objects.ID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batches = append(p.batches, slices.Clone(ids))
}

// TestIterateBatchesForPrefetcher: on a store that fetches many objects in
// one go (a server, one round trip), a long walk asks for its leaves in
// batches, each leaf once, and still returns every key in order.
func TestIterateBatchesForPrefetcher(t *testing.T) {
	t.Parallel()
	_, s, m, root := manyLeaves(t)
	p := &prefetchStore{NodeStore: s}
	if got := iterate(t, New(p), root, "", ""); !slices.Equal(got, m.keys()) {
		t.Fatalf("Iterate returned %d keys, want the %d of the map in order", len(got), len(m))
	}
	seen := map[objects.ID]bool{}
	largest := 0
	for _, b := range p.batches {
		largest = max(largest, len(b))
		for _, id := range b {
			if seen[id] {
				t.Fatalf("leaf %s prefetched twice", id.Short())
			}
			seen[id] = true
		}
	}
	if largest < maxLeavesAhead/2 || len(seen) < 100 {
		t.Errorf("%d leaves prefetched in %d batches of at most %d, want most leaves in batches of %d or more", len(seen), len(p.batches), largest, maxLeavesAhead/2)
	}
}

// manyLeaves builds a tree of 20,000 keys, a few hundred leaves: a tree,
// its store, the keys and the root.
func manyLeaves(t *testing.T) (*Tree, *memstore.Store, model, objects.ID) {
	t.Helper()
	tr, s := newTree()
	m := model{}
	for i := range 20000 {
		m[seqKey(i)] = entry(i, 0)
	}
	return tr, s, m, build(t, tr, m)
}
