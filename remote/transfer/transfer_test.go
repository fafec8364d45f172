package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

const main = objects.BranchPrefix + "main"

func newRepo(t testing.TB, badger bool) *repo.Repo {
	t.Helper()
	opts := repo.Options{}
	if !badger {
		opts.Store = memstore.New()
	}
	r, err := repo.Init(context.Background(), t.TempDir(), "", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// ticks counts the test clock's seconds; tests run in parallel, so it
// moves atomically.
var ticks atomic.Int64

const epoch = 1_750_000_000

// tick returns the test clock's next second.
func tick() time.Time { return time.Unix(epoch+ticks.Add(1), 0).UTC() }

func stage(t testing.TB, r *repo.Repo, docs map[string]string) {
	t.Helper()
	ctx := context.Background()
	var edits []repo.Edit
	for k, v := range docs {
		if v == "" {
			edits = append(edits, repo.Edit{Key: k, Delete: true})
			continue
		}
		e, err := r.WriteDocumentBytes(ctx, []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		edits = append(edits, repo.Edit{Key: k, Entry: e})
	}
	if _, err := r.StageEdits(ctx, main, edits); err != nil {
		t.Fatal(err)
	}
}

func commit(t testing.TB, r *repo.Repo, msg string) objects.ID {
	t.Helper()
	id, err := r.Commit(context.Background(), main, repo.CommitOptions{Message: msg, Time: tick(),
		Author: objects.Signature{Name: "t", Email: "t@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// transfer sends wants from src to dst (which has haves) through a real pack.
func transfer(t testing.TB, src, dst *repo.Repo, wants, haves []objects.ID) (Stats, Stats) {
	t.Helper()
	ctx := context.Background()
	var buf bytes.Buffer
	pw := wire.NewPackWriter(&buf, wire.WriterOptions{})
	sent, err := Send(ctx, src.Store(), pw, wants, haves)
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := admitPack(dst.Store(), &buf, wants)
	if err != nil {
		t.Fatal(err)
	}
	return sent, got.Stats
}

// closure lists every object reachable from a commit.
func closure(t testing.TB, r *repo.Repo, id objects.ID) map[objects.ID]int {
	t.Helper()
	ctx := context.Background()
	out := map[objects.ID]int{}
	var visit func(id objects.ID)
	visit = func(id objects.ID) {
		if _, ok := out[id]; ok || id.IsZero() {
			return
		}
		data, err := r.Store().Get(ctx, id)
		if err != nil {
			t.Fatalf("closure of %s: %v", id.Short(), err)
		}
		out[id] = len(data)
		refs, err := objects.References(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range refs {
			visit(ref)
		}
	}
	visit(id)
	return out
}

// minimalBytes is what the receiver lacks of a commit's closure.
func minimalBytes(t testing.TB, src, dst *repo.Repo, id objects.ID) int64 {
	t.Helper()
	var n int64
	for oid, size := range closure(t, src, id) {
		if ok, _ := dst.Store().Has(context.Background(), oid); !ok {
			n += int64(size)
		}
	}
	return n
}

func assertComplete(t testing.TB, dst *repo.Repo, id objects.ID) {
	t.Helper()
	closure(t, dst, id) // fails the test on any missing object
}

func someDocs(n int, version string) map[string]string {
	docs := map[string]string{}
	for i := range n {
		docs[fmt.Sprintf("docs/%05d.json", i)] = fmt.Sprintf(`{"id": %d, "version": %q, "pad": "%0100d"}`, i, version, i)
	}
	return docs
}

func TestCloneThenIncrementalFetchSendsOnlyWhatIsMissing(t *testing.T) {
	for _, badger := range []bool{false, true} {
		t.Run(fmt.Sprintf("badger=%v", badger), func(t *testing.T) {
			src, dst := newRepo(t, badger), newRepo(t, badger)
			stage(t, src, someDocs(5000, "v1"))
			c1 := commit(t, src, "one")

			want := minimalBytes(t, src, dst, c1)
			sent, got := transfer(t, src, dst, []objects.ID{c1}, nil)
			assertComplete(t, dst, c1)
			if sent.Bytes != want || got.Bytes != want || sent.Commits != 1 {
				t.Errorf("clone sent %d bytes (%d commits), received %d, minimum %d", sent.Bytes, sent.Commits, got.Bytes, want)
			}

			stage(t, src, map[string]string{"docs/02500.json": `{"changed": true}`, "new.txt": "new\n"})
			c2 := commit(t, src, "two")
			stage(t, src, map[string]string{"docs/00001.json": ""})
			c3 := commit(t, src, "three")
			want = minimalBytes(t, src, dst, c3)
			sent, _ = transfer(t, src, dst, []objects.ID{c3}, []objects.ID{c1})
			assertComplete(t, dst, c3)
			if sent.Commits != 2 || float64(sent.Bytes) > 1.1*float64(want) {
				t.Errorf("incremental fetch sent %d commits, %d bytes; minimum %d", sent.Commits, sent.Bytes, want)
			}
			if sent.Bytes > 40<<10 {
				t.Errorf("two small commits on a 5,000-document index sent %d bytes", sent.Bytes)
			}
			// Nothing new: nothing sent.
			sent, _ = transfer(t, src, dst, []objects.ID{c3}, []objects.ID{c3, c2})
			if sent.Objects != 0 {
				t.Errorf("sent %d objects to a receiver that has everything", sent.Objects)
			}
		})
	}
}

func TestHavesTheSenderDoesNotKnowAreIgnored(t *testing.T) {
	src, dst := newRepo(t, false), newRepo(t, false)
	stage(t, src, someDocs(10, "v1"))
	c1 := commit(t, src, "one")
	unknown := objects.Hash([]byte("a commit only the receiver has"))
	transfer(t, src, dst, []objects.ID{c1}, []objects.ID{unknown})
	assertComplete(t, dst, c1)
}

func TestMergesSendOnlyWhatTheReceiverLacks(t *testing.T) {
	ctx := context.Background()
	a, b := newRepo(t, false), newRepo(t, false)
	stage(t, a, someDocs(3000, "v1"))
	base := commit(t, a, "base")
	transfer(t, a, b, []objects.ID{base}, nil)
	b.Store().UpdateRefs(ctx, objects.RefUpdate{Name: main, New: base})

	stage(t, a, map[string]string{"docs/00010.json": `{"x": 1}`, "only-a.txt": "a\n"})
	ca := commit(t, a, "on a")
	stage(t, b, map[string]string{"docs/02000.json": `{"b": 2}`, "docs/00010.json": `{"x": 2}`})
	cb := commit(t, b, "on b")

	// b gets a's commit, merges, and sends the merge back to a.
	transfer(t, a, b, []objects.ID{ca}, []objects.ID{cb})
	m, res, err := merge.Converge(ctx, b, ca, cb)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conflicted) != 1 {
		t.Fatalf("want one conflict, got %+v", res.Conflicted)
	}
	want := minimalBytes(t, b, a, m)
	sent, _ := transfer(t, b, a, []objects.ID{m}, []objects.ID{ca})
	assertComplete(t, a, m)
	if float64(sent.Bytes) > 1.1*float64(want) {
		t.Errorf("merge push sent %d bytes, minimum %d", sent.Bytes, want)
	}
}

func TestLargeDocumentsSendOnlyNewChunks(t *testing.T) {
	src, dst := newRepo(t, true), newRepo(t, true)
	rng := rand.New(rand.NewPCG(3, 3))
	var big strings.Builder
	for big.Len() < 8<<20 {
		fmt.Fprintf(&big, "%x\n", rng.Uint64())
	}
	stage(t, src, map[string]string{"big.txt": big.String()})
	c1 := commit(t, src, "big")
	transfer(t, src, dst, []objects.ID{c1}, nil)
	edited := big.String()[:4<<20] + "EDIT" + big.String()[4<<20+4:]
	stage(t, src, map[string]string{"big.txt": edited})
	c2 := commit(t, src, "edit")
	sent, _ := transfer(t, src, dst, []objects.ID{c2}, []objects.ID{c1})
	assertComplete(t, dst, c2)
	if sent.Bytes > 3<<20 {
		t.Errorf("a 4-byte edit of an 8 MiB document sent %d bytes", sent.Bytes)
	}
}

// A pack whose objects come before what they reference is refused, and
// what it left behind references nothing missing.
func TestReceiveRefusesMissingReferences(t *testing.T) {
	ctx := context.Background()
	src, dst := newRepo(t, false), newRepo(t, false)
	stage(t, src, someDocs(50, "v1"))
	c1 := commit(t, src, "one")
	commitData, _ := src.Store().Get(ctx, c1)
	var buf bytes.Buffer
	pw := wire.NewPackWriter(&buf, wire.WriterOptions{})
	pw.Write(objects.Object{ID: c1, Data: commitData}) // the commit alone
	pw.Close()
	_, err := Receive(ctx, dst.Store(), wire.NewPackReader(&buf, wire.Limits{}))
	if !errors.Is(err, ErrMissingReference) {
		t.Fatalf("receive: %v", err)
	}
	if ok, _ := dst.Store().Has(ctx, c1); ok {
		t.Error("the commit whose maps are missing was stored")
	}
}

// A merge of two commits the receiver has both of (leaders peered
// all-to-all get each other's writes directly and then in each other's
// merges) sends only the objects of the merge that neither parent holds:
// not again the documents one side changed, which the other side's map
// lacks.
func TestMergesOfCommitsTheReceiverHasSendOnlyTheMerge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := newRepo(t, false), newRepo(t, false)
	stage(t, a, someDocs(3000, "v1"))
	base := commit(t, a, "base")
	transfer(t, a, b, []objects.ID{base}, nil)
	b.Store().UpdateRefs(ctx, objects.RefUpdate{Name: main, New: base})

	// Each side changes many documents, so that whichever parent the
	// merge is compared with, the other's documents would go again.
	onA, onB := map[string]string{}, map[string]string{}
	for i := range 40 {
		onA[fmt.Sprintf("docs/%05d.json", 1000+i*50)] = fmt.Sprintf(`{"a": %d}`, i)
		onB[fmt.Sprintf("docs/%05d.json", 1025+i*50)] = fmt.Sprintf(`{"b": %d}`, i)
	}
	stage(t, a, onA)
	ca := commit(t, a, "on a")
	stage(t, b, onB)
	cb := commit(t, b, "on b")

	// Each has the other's commit, and b merges them.
	transfer(t, a, b, []objects.ID{ca}, []objects.ID{cb})
	transfer(t, b, a, []objects.ID{cb}, []objects.ID{ca})
	m, _, err := merge.Converge(ctx, b, ca, cb)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for id := range closure(t, b, m) {
		if ok, _ := a.Store().Has(ctx, id); !ok {
			want++
		}
	}
	sent, _ := transfer(t, b, a, []objects.ID{m}, []objects.ID{ca, cb})
	assertComplete(t, a, m)
	if sent.Objects != want {
		t.Errorf("merge sent %d objects, of which a lacked %d", sent.Objects, want)
	}
}
