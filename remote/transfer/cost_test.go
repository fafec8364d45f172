package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

// countingStore counts the reads of each object, and the questions
// whether one is stored.
type countingStore struct {
	Store
	gets map[objects.ID]int
	has  int
}

func (s *countingStore) Has(ctx context.Context, id objects.ID) (bool, error) {
	s.has++
	return s.Store.Has(ctx, id)
}

func (s *countingStore) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	s.gets[id]++
	return s.Store.Get(ctx, id)
}

func counting(s Store) *countingStore {
	return &countingStore{Store: s, gets: map[objects.ID]int{}}
}

// oneDocumentChange makes the pack of one commit that changes one
// document of 5,000, and a quarantine of the receiver dst to take it
// (discarded when the test ends).
func oneDocumentChange(t *testing.T) (dst *repo.Repo, qr objects.Quarantine, pack *wire.PackReader, tip objects.ID) {
	t.Helper()
	src, dst, base, tip := smallEdits(t, false, 5000, 1, func(int) string { return "docs/02500.json" })
	buf := sendPack(t, src, tip, base)
	qr, err := dst.Store().Quarantine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qr.Discard() })
	return dst, qr, wire.NewPackReader(buf, wire.Limits{}), tip
}

// smallEdits makes what a busy leader's peer fetches: src and dst share a
// base commit of n documents, and src goes on with k commits that each
// change the document key(i) names. It returns the base and src's tip.
func smallEdits(t testing.TB, badger bool, n, k int, key func(i int) string) (src, dst *repo.Repo, base, tip objects.ID) {
	t.Helper()
	src, dst = newRepo(t, badger), newRepo(t, badger)
	stage(t, src, someDocs(n, "v1"))
	base = commit(t, src, "base")
	transfer(t, src, dst, []objects.ID{base}, nil)
	tip = base
	for i := range k {
		stage(t, src, map[string]string{key(i): fmt.Sprintf(`{"edit": %d}`, i)})
		tip = commit(t, src, fmt.Sprintf("edit %d", i))
	}
	return src, dst, base, tip
}

// sendPack is the pack Send makes of what tip has beyond base.
func sendPack(t testing.TB, src *repo.Repo, tip, base objects.ID) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	pw := wire.NewPackWriter(&buf, wire.WriterOptions{})
	if _, err := Send(context.Background(), src.Store(), pw, []objects.ID{tip}, []objects.ID{base}); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// A pack of many commits that each change one document of a large index
// carries a new version of the same leaf for each: the stored documents
// that leaf names are looked up in the store once, not once a commit.
// Every reference is still checked (see TestReceiveRefusesMissingReferences).
func TestReceiveLooksUpEachStoredObjectOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst, base, tip := smallEdits(t, false, 2000, 20, func(int) string { return "docs/01000.json" })
	buf := sendPack(t, src, tip, base)
	qr, err := dst.Store().Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Discard()
	cs := counting(qr)
	got, err := Receive(ctx, cs, wire.NewPackReader(buf, wire.Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Commits != 20 {
		t.Fatalf("received %d commits, want 20", got.Commits)
	}
	for id, n := range cs.gets {
		if n > 1 {
			t.Errorf("%s read %d times", id.Short(), n)
		}
	}
	if len(cs.gets) == 0 {
		t.Error("no stored object was looked up: the references were not checked")
	}
}

// A fetch of a one-document change on a large index reads each stored
// object it needs once: the stored nodes whose types Receive checks are
// the ones Admit reads again to check the new nodes' children and edges
// (each read decompresses a block of the store, most of such a fetch's
// CPU). Admit still reads them: TestAdmitRefusesForeignChunking and
// TestAdmitChecksMapRoles fail if it stops checking.
func TestReceiveAndAdmitReadEachStoredObjectOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst, qr, pack, tip := oneDocumentChange(t)
	cs := counting(qr)
	got, err := Receive(ctx, cs, pack)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Admit(ctx, cs, dst.Store(), got, tip); err != nil {
		t.Fatal(err)
	}
	for id, n := range cs.gets {
		if n > 1 {
			t.Errorf("%s read %d times", id.Short(), n)
		}
	}
	if len(cs.gets) == 0 {
		t.Error("no stored object was read: nothing was checked")
	}
}

// Receive checks the type of each stored object a new node names, and a
// new node of a one-document change names dozens (the leaf's other
// documents, the root's other children). Those that the parent commit's
// map holds as items of the same level and key are of the right type
// (the parent's map was checked when it was stored), so Receive reads
// the few nodes of the parent's map around the change instead of each
// of them: a read from Badger decompresses a whole block.
// TestReceiveChecksReferencesToStoredObjects still holds: a reference the
// parent's map does not prove is read.
func TestReceiveProvesStoredReferencesFromTheParentsMap(t *testing.T) {
	t.Parallel()
	_, qr, pack, _ := oneDocumentChange(t)
	cs := counting(qr)
	if _, err := Receive(context.Background(), cs, pack); err != nil {
		t.Fatal(err)
	}
	if len(cs.gets) > 8 {
		t.Errorf("read %d stored objects, want at most 8 (the parent and its map's nodes around the change)", len(cs.gets))
	}
}

// Admit checks that each stored child of a new node fits where it sits,
// which took a read of each (and of its first and last leaves), and asked
// the store whether each node it met was stored. The parent's map holds
// the same children at the same level, key and neighbours, where they
// were checked already (see parentMaps.fits); and the pack says what
// arrived. A fetch of one commit that changes one document of 5,000 then
// reads a few nodes, not a hundred.
// TestAdmitRefusesForeignChunking and TestAdmitChecksMapRoles still hold.
func TestReceiveAndAdmitReadFewStoredObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst, qr, pack, tip := oneDocumentChange(t)
	view := counting(qr)
	got, err := Receive(ctx, view, pack)
	if err != nil {
		t.Fatal(err)
	}
	stored := counting(dst.Store())
	if _, err := Admit(ctx, view, stored, got, tip); err != nil {
		t.Fatal(err)
	}
	if n := len(view.gets) + len(stored.gets) + stored.has; n > 12 {
		t.Errorf("read %d objects and asked about %d, want at most 12 in all", len(view.gets)+len(stored.gets), stored.has)
	}
}

// A document copied under a key next to its original (in the same leaf)
// is not sent again: the receiver has it under the old key.
func TestSendSkipsDocumentsTheReceiverHasUnderAnotherKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := newRepo(t, false), newRepo(t, false)
	docs := someDocs(200, "v1")
	stage(t, src, docs)
	c1 := commit(t, src, "base")
	transfer(t, src, dst, []objects.ID{c1}, nil)
	original := docs["docs/00100.json"]
	stage(t, src, map[string]string{"docs/00100.json.copy": original, "docs/00101.json": `{"changed": true}`})
	c2 := commit(t, src, "copy")
	blob, err := src.WriteDocumentBytes(ctx, []byte(original))
	if err != nil {
		t.Fatal(err)
	}
	times := sendOnce(t, src, dst, []objects.ID{c2}, []objects.ID{c1}, memIDs)
	if times[blob.ID] != 0 {
		t.Error("the copied document was sent again")
	}
	changed, err := src.WriteDocumentBytes(ctx, []byte(`{"changed": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if times[changed.ID] != 1 {
		t.Error("the changed document was not sent")
	}
}

// BenchmarkSendReceive100SmallCommits: the pack of 100 commits that each
// change one document of a 20,000-document index (what a busy leader's
// peer fetches), sent and received into a quarantine, on Badger stores.
func BenchmarkSendReceive100SmallCommits(b *testing.B) {
	ctx := context.Background()
	src, dst, base, tip := smallEdits(b, true, 20000, 100, func(i int) string { return fmt.Sprintf("docs/%05d.json", i*197%20000) })
	for b.Loop() {
		buf := sendPack(b, src, tip, base)
		qr, err := dst.Store().Quarantine(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Receive(ctx, qr, wire.NewPackReader(buf, wire.Limits{})); err != nil {
			b.Fatal(err)
		}
		qr.Discard()
	}
}

// BenchmarkReceiveAdmit100SmallCommits: what a leader does with the pack
// of BenchmarkSendReceive100SmallCommits as a fetch or a push takes it:
// receive it into a quarantine and admit its tip, on Badger stores. Each
// new leaf names a few hundred stored documents, whose types are checked.
func BenchmarkReceiveAdmit100SmallCommits(b *testing.B) {
	ctx := context.Background()
	src, dst, base, tip := smallEdits(b, true, 20000, 100, func(i int) string { return fmt.Sprintf("docs/%05d.json", i*197%20000) })
	pack := sendPack(b, src, tip, base).Bytes()
	for b.Loop() {
		qr, err := dst.Store().Quarantine(ctx)
		if err != nil {
			b.Fatal(err)
		}
		got, err := Receive(ctx, qr, wire.NewPackReader(bytes.NewReader(pack), wire.Limits{}))
		if err == nil {
			_, err = Admit(ctx, qr, dst.Store(), got, tip)
		}
		if err != nil {
			b.Fatal(err)
		}
		qr.Discard()
	}
}

// The diff of a one-document change keeps, from the old map, only the
// leaves next to the new one: not every leaf under the old nodes that
// overlap it (with a two-level map, the whole map).
func TestDiffKeepsOnlyTheOldLeavesNextToTheChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRepo(t, false)
	stage(t, r, someDocs(5000, "v1"))
	c1 := commit(t, r, "base")
	stage(t, r, map[string]string{"docs/02500.json": `{"changed": true}`})
	c2 := commit(t, r, "one change")
	var maps [2]objects.ID
	for i, id := range []objects.ID{c1, c2} {
		c, err := readCommit(ctx, r.Store(), id)
		if err != nil {
			t.Fatal(err)
		}
		maps[i] = c.Index
	}
	nodes := newNodeReader(r.Store())
	d, err := diffMaps(ctx, nodes, maps[0], maps[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(d.newNodes) < 2 || len(d.newNodes[0]) != 1 {
		t.Fatalf("new nodes by level: %v", d.newNodes)
	}
	leaf, err := nodes.read(ctx, d.newNodes[0][0])
	if err != nil {
		t.Fatal(err)
	}
	// The new leaf replaces one old leaf (two if the change moved a cut).
	if len(d.old) > 3*len(leaf.Items) {
		t.Errorf("kept %d old items for a change in a leaf of %d", len(d.old), len(leaf.Items))
	}
	if e := d.oldEntry("docs/02500.json"); e.ID.IsZero() {
		t.Error("the old entry of the changed key is not among them")
	}
	items, err := d.newItems(ctx, nodes)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Key != "docs/02500.json" {
		t.Errorf("new items: %+v", items)
	}
}

// heldPuts counts the objects put into a store, and the documents.
type heldPuts struct {
	Store
	put, docs int
}

func (s *heldPuts) Put(ctx context.Context, objs ...objects.Object) error {
	s.put += len(objs)
	for _, o := range objs {
		if t, _ := objects.TypeOf(o.Data); t == objects.TypeBlob || t == objects.TypeChunked {
			s.docs++
		}
	}
	return s.Store.Put(ctx, objs...)
}

// TestReceiveDropsWhatIsStored: a pack that brings again what the store
// holds (a leader peered all-to-all gets the same writes from two peers)
// stores none of it again but its documents (put again to freshen them
// against gc, see held), and the refs may still move to it. Failed
// before: every object of the pack was put into the quarantine again.
func TestReceiveDropsWhatIsStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst, base, tip := smallEdits(t, true, 500, 5, func(i int) string { return fmt.Sprintf("docs/%05d.json", i*7) })
	transfer(t, src, dst, []objects.ID{tip}, []objects.ID{base})
	qr, err := dst.Store().Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Discard()
	into := &heldPuts{Store: qr}
	got, err := Receive(ctx, into, wire.NewPackReader(sendPack(t, src, tip, base), wire.Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Objects == 0 || got.Held == 0 || got.Held+into.put != got.Objects || into.put != into.docs {
		t.Errorf("%d objects arrived, %d held, %d put again (%d documents); want all held but the documents", got.Objects, got.Held, into.put, into.docs)
	}
	keep, err := Admit(ctx, qr, dst.Store(), got, tip)
	if err != nil {
		t.Fatal(err)
	}
	if err := qr.Promote(ctx, keep, objects.RefUpdate{Name: "refs/heads/again", New: tip}); err != nil {
		t.Fatal(err)
	}
}

// A pack of commits that each change a document of the same leaf carries
// that leaf (and the nodes above it) again for each: a reference to a
// stored object that several of them make is checked once, not once a
// node. Every reference is still checked
// (TestReceiveRefusesMissingReferences).
func TestReceiveChecksEachReferenceOnce(t *testing.T) {
	t.Parallel()
	src, dst, base, tip := smallEdits(t, true, 2000, 20, func(i int) string { return fmt.Sprintf("docs/%05d.json", 1000+i%3) })
	pack := sendPack(t, src, tip, base)
	distinct := map[objects.ID]bool{}
	nodes := 0
	for _, obj := range packObjects(t, pack.Bytes()) {
		if n, err := objects.DecodeNode(obj.Data); err == nil {
			nodes++
			for _, it := range n.Items {
				distinct[it.Entry.ID] = true
			}
		}
	}
	_, got := receiveQuarantined(t, dst, pack)
	if got.Commits != 20 || nodes < 20 {
		t.Fatalf("received %d commits and %d nodes, want 20 and more", got.Commits, nodes)
	}
	if got.deferredChecks == 0 || got.deferredChecks > len(distinct) {
		t.Fatalf("checked %d references against the store, for %d distinct ones in %d nodes", got.deferredChecks, len(distinct), nodes)
	}
}

// Admit walks the new maps with the nodes Receive decoded as they arrived,
// not reading and decoding each again.
func TestAdmitReadsNoNodeThatArrived(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst, base, tip := smallEdits(t, true, 2000, 20, func(i int) string { return fmt.Sprintf("docs/%05d.json", i*97%2000) })
	pack := sendPack(t, src, tip, base)
	arrived := map[objects.ID]bool{}
	for _, obj := range packObjects(t, pack.Bytes()) {
		if ty, _ := objects.TypeOf(obj.Data); ty == objects.TypeNode {
			arrived[obj.ID] = true
		}
	}
	qr, got := receiveQuarantined(t, dst, pack)
	view := counting(qr)
	if _, err := Admit(ctx, view, dst.Store(), got, tip); err != nil {
		t.Fatal(err)
	}
	for id := range view.gets {
		if arrived[id] {
			t.Errorf("node %s arrived, and Admit read it again", id.Short())
		}
	}
	if len(arrived) < 20 {
		t.Fatalf("%d nodes arrived, want 20 and more", len(arrived))
	}
}

// KeepNodes hands a tree only the arrived nodes keep accepts: a node the
// quarantine did not promote is not in the store, and a tree's cache must
// hold nothing its store lacks.
func TestKeepNodesKeepsOnlyWhatWasKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, qr, pack, _ := oneDocumentChange(t)
	got, err := Receive(ctx, qr, pack)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.nodes) < 2 {
		t.Fatalf("%d nodes arrived, want 2 and more", len(got.nodes))
	}
	refused := got.nodes[0].id
	tree := prolly.New(readOnly{qr})
	got.KeepNodes(tree, func(id objects.ID) bool { return id != refused })
	for _, n := range got.nodes {
		if cached := tree.Cached(n.id) != nil; cached != (n.id != refused) {
			t.Errorf("node %s cached: %v", n.id.Short(), cached)
		}
	}
}

// A receive keeps at most maxKeptNodeBytes of the nodes that arrive
// decoded, for Admit and the repository's tree: a pack of more (a clone,
// a hostile push) is received whole, its nodes past the bound read again
// where needed.
func TestReceiveKeepsABoundedShareOfItsNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst := newRepo(t, false)
	blob := objects.EncodeBlob([]byte("named by every item"))
	if err := dst.Store().Put(ctx, blob); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 1000)
	var pack []objects.Object
	size := 0
	for i := 0; size <= maxKeptNodeBytes+maxKeptNodeBytes/4; i++ {
		n := &objects.Node{}
		for j := range 16 {
			n.Items = append(n.Items, objects.NodeItem{Key: fmt.Sprintf("%05d/%02d/%s", i, j, long),
				Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}})
		}
		o := n.Encode()
		pack = append(pack, o)
		size += len(o.Data)
	}
	_, got := receiveQuarantined(t, dst, packOf(t, pack...))
	if got.Objects != len(pack) {
		t.Fatalf("received %d objects of %d", got.Objects, len(pack))
	}
	kept := 0
	for _, n := range got.nodes {
		kept += n.size
	}
	if kept > maxKeptNodeBytes || kept != got.nodeBytes || len(got.nodes) == 0 {
		t.Fatalf("kept %d nodes of %d bytes (counted %d) of %d arrived (%d bytes), want at most %d bytes",
			len(got.nodes), kept, got.nodeBytes, len(pack), size, maxKeptNodeBytes)
	}
}

// packObjects reads every object of an encoded pack.
func packObjects(t *testing.T, pack []byte) []objects.Object {
	t.Helper()
	var out []objects.Object
	pr := wire.NewPackReader(bytes.NewReader(pack), wire.Limits{})
	for {
		obj, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj)
	}
}

// receiveQuarantined receives pack into a quarantine of dst, discarded
// when the test ends.
func receiveQuarantined(t *testing.T, dst *repo.Repo, pack io.Reader) (objects.Quarantine, *Received) {
	t.Helper()
	ctx := context.Background()
	qr, err := dst.Store().Quarantine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qr.Discard() })
	got, err := Receive(ctx, qr, wire.NewPackReader(pack, wire.Limits{}))
	if err != nil {
		t.Fatal(err)
	}
	return qr, got
}
