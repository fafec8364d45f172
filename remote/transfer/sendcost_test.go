package transfer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// A send reads each node and document it needs from the store once: the
// new nodes it decoded to find what changed are the bytes it sends, not
// read (and, from Badger, decompressed and re-hashed) again. A commit is
// read by the walk that finds what is missing and once more to send it.
// The pack still carries every object the receiver lacks
// (TestCloneThenIncrementalFetchSendsOnlyWhatIsMissing and the other
// transfer tests check packs).
func TestSendReadsEachStoredObjectOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, _, base, tip := smallEdits(t, false, 5000, 20, func(i int) string { return "docs/02500.json" })
	cs := &countingStore{Store: src.Store(), gets: map[objects.ID]int{}}
	pw := wire.NewPackWriter(io.Discard, wire.WriterOptions{})
	st, err := Send(ctx, cs, pw, []objects.ID{tip}, []objects.ID{base})
	if err != nil {
		t.Fatal(err)
	}
	if st.Commits != 20 {
		t.Fatalf("sent %d commits, want 20", st.Commits)
	}
	for id, n := range cs.gets {
		data, err := src.Store().Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		max := 1
		if ty, _ := objects.TypeOf(data); ty == objects.TypeCommit {
			max = 2
		}
		if n > max {
			t.Errorf("%s (type %d) read %d times, want at most %d", id.Short(), data[0], n, max)
		}
	}
}

// BenchmarkSend100SmallCommits: the send half of
// BenchmarkSendReceive100SmallCommits, on a Badger store; from-tree
// compares the maps with the nodes the repository's tree holds decoded
// (SendWithNodes, as leaders send).
func BenchmarkSend100SmallCommits(b *testing.B) {
	ctx := context.Background()
	src, _, base, tip := smallEdits(b, true, 20000, 100, func(i int) string { return fmt.Sprintf("docs/%05d.json", i*197%20000) })
	for _, bc := range []struct {
		name    string
		decoded DecodedNodes
	}{{"from-store", nil}, {"from-tree", src.Tree()}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				pw := wire.NewPackWriter(io.Discard, wire.WriterOptions{})
				if _, err := SendWithNodes(ctx, src.Store(), bc.decoded, pw, []objects.ID{tip}, []objects.ID{base}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A clone's first step sends the documents in the store's order; the
// rest of the send then knows them sent without looking each up in its
// set of IDs sent, which past memIDs lives in temporary files (a run on
// disk read per document was most of the second step of a clone of
// 100,000 documents). Cloned with 64 IDs in memory, 2,000 documents cost
// a few look-ups on disk (the filter's false positives), not one each.
func TestCloneReadsNoSpilledRunPerDocument(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := newRepo(t, true)
	stage(t, src, someDocs(2000, "v1"))
	tip := commit(t, src, "one")
	s := newSender(src.Store(), wire.NewPackWriter(io.Discard, wire.WriterOptions{}), 64)
	defer s.spill.close()
	st, err := s.send(ctx, []objects.ID{tip}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(closure(t, src, tip)); st.Objects != want {
		t.Fatalf("the clone sent %d objects, the commit reaches %d", st.Objects, want)
	}
	if s.spill.runLookups > 20 {
		t.Errorf("the clone of 2,000 documents read the spilled runs %d times, want at most 20", s.spill.runLookups)
	}
}

// discardObjects is a PackWriter that keeps nothing.
type discardObjects struct{}

func (discardObjects) Write(objects.Object) error { return nil }

// A send of a few small commits, as leaders peered with each other make
// several times a second, allocates about what it sends, not the bound of
// its pipe's batches (a megabyte each time, most of what a mesh of
// leaders allocated). Not parallel: it counts the process's allocations.
func TestSmallSendAllocatesLittle(t *testing.T) {
	ctx := context.Background()
	src, _, base, tip := smallEdits(t, true, 200, 3, func(i int) string { return fmt.Sprintf("docs/%05d.json", i*67%200) })
	send := func() {
		if _, err := Send(ctx, src.Store(), discardObjects{}, []objects.ID{tip}, []objects.ID{base}); err != nil {
			t.Fatal(err)
		}
	}
	send() // the store's caches
	const sends = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range sends {
		send()
	}
	runtime.ReadMemStats(&after)
	if each := (after.TotalAlloc - before.TotalAlloc) / sends; each > 256<<10 {
		t.Fatalf("a send of 3 small commits allocated %d KiB", each>>10)
	}
}

// A send from a repository compares maps with the nodes its tree holds
// decoded (those its commits wrote, or that it read lately), rather than
// reading and decoding them again: of the nodes, it reads from the store
// only the bytes of those it sends, once each.
func TestSendComparesWithTheTreesNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, _, base, tip := smallEdits(t, true, 2000, 10, func(i int) string { return fmt.Sprintf("docs/%05d.json", i*197%2000) })
	cs := counting(src.Store())
	var pack bytes.Buffer
	pw := wire.NewPackWriter(&pack, wire.WriterOptions{})
	if _, err := SendWithNodes(ctx, cs, src.Tree(), pw, []objects.ID{tip}, []objects.ID{base}); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	sent := map[objects.ID]bool{}
	for _, obj := range packObjects(t, pack.Bytes()) {
		sent[obj.ID] = true
	}
	nodes := 0
	for id, n := range cs.gets {
		data, err := src.Store().Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ty, _ := objects.TypeOf(data); ty != objects.TypeNode {
			continue
		}
		nodes++
		if !sent[id] || n > 1 {
			t.Errorf("node %s read %d times, sent: %v", id.Short(), n, sent[id])
		}
	}
	if nodes == 0 {
		t.Error("no node was read: the nodes sent were not read from the store")
	}
}
