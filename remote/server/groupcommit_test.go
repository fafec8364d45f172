package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// syncCounter is a real Badger store that counts its synced writes: Put
// calls, and ref moves (UpdateRefs, a quarantine's Promote). With fail
// set, every ref move fails.
type syncCounter struct {
	objects.Store
	puts, moves atomic.Int64
	fail        atomic.Bool
	// opened counts quarantines. Once hold is set, the next Promote waits
	// until it is closed, then fails if failHeld.
	opened   atomic.Int64
	hold     atomic.Pointer[chan struct{}]
	failHeld atomic.Bool
	// reads counts the reads of the object watch names.
	watch atomic.Pointer[objects.ID]
	reads atomic.Int64
	// gate, once set, gets a channel from every Promote, which waits
	// until the test closes it.
	gate atomic.Pointer[chan chan struct{}]
	// refReads counts the reads of refs.
	refReads atomic.Int64
}

func (s *syncCounter) Ref(ctx context.Context, name string) (objects.ID, error) {
	s.refReads.Add(1)
	return s.Store.Ref(ctx, name)
}

func (s *syncCounter) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	if w := s.watch.Load(); w != nil && *w == id {
		s.reads.Add(1)
	}
	return s.Store.Get(ctx, id)
}

var errDiskGone = errors.New("test: the disk went away")

func (s *syncCounter) Put(ctx context.Context, objs ...objects.Object) error {
	s.puts.Add(1)
	return s.Store.Put(ctx, objs...)
}

func (s *syncCounter) UpdateRefs(ctx context.Context, updates ...objects.RefUpdate) error {
	s.moves.Add(1)
	if s.fail.Load() {
		return errDiskGone
	}
	return s.Store.UpdateRefs(ctx, updates...)
}

func (s *syncCounter) Quarantine(ctx context.Context) (objects.Quarantine, error) {
	s.opened.Add(1)
	q, err := s.Store.Quarantine(ctx)
	return countedQuarantine{q, s}, err
}

type countedQuarantine struct {
	objects.Quarantine
	s *syncCounter
}

func (q countedQuarantine) Promote(ctx context.Context, keep func(objects.ID) bool, updates ...objects.RefUpdate) error {
	q.s.moves.Add(1)
	if gate := q.s.gate.Load(); gate != nil {
		release := make(chan struct{})
		*gate <- release
		<-release
	}
	if hold := q.s.hold.Swap(nil); hold != nil {
		<-*hold
		if q.s.failHeld.Load() {
			q.Discard()
			return errDiskGone
		}
	}
	if q.s.fail.Load() {
		q.Discard()
		return errDiskGone
	}
	return q.Quarantine.Promote(ctx, keep, updates...)
}

// groupRig is a served repository over a syncCounter, and its served Repo
// for taking the write lock.
type groupRig struct {
	r     *repo.Repo
	store *syncCounter
	rp    *server.Repo
	base  string
}

func newGroupRig(t *testing.T) *groupRig {
	t.Helper()
	return newGroupRigLimits(t, server.Limits{})
}

func newGroupRigLimits(t *testing.T, limits server.Limits) *groupRig {
	t.Helper()
	bs, err := badgerstore.Open(filepath.Join(t.TempDir(), "store"), badgerstore.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	cs := &syncCounter{Store: bs}
	r, err := repo.Init(context.Background(), t.TempDir(), "", repo.Options{Store: cs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	repos := server.Single(r)
	rp, _, err := repos.Get(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return &groupRig{r: r, store: cs, rp: rp, base: serve(t, r, server.Options{Repos: repos, Limits: limits})}
}

// groupWrite is one request of a group and its reply.
type groupWrite struct {
	method, key, body string
	headers           []string
	reply             reply
}

// sendTogether holds the repository's write lock while every write is
// sent, waits until the server has them all queued, and lets them go.
func (g *groupRig) sendTogether(t *testing.T, writes []*groupWrite) {
	t.Helper()
	g.rp.Writes().Lock()
	var wg sync.WaitGroup
	for _, w := range writes {
		wg.Go(func() {
			var body []byte
			if w.method == http.MethodPut {
				body = []byte(w.body)
			}
			w.reply = call(t, w.method, g.base+wire.PathDocs+"/"+w.key, body, w.headers...)
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for server.QueuedWrites(g.rp) < len(writes) {
		if time.Now().After(deadline) {
			g.rp.Writes().Unlock()
			t.Fatalf("%d of %d writes queued after 10 s", server.QueuedWrites(g.rp), len(writes))
		}
		time.Sleep(time.Millisecond)
	}
	g.store.puts.Store(0)
	g.store.moves.Store(0)
	g.rp.Writes().Unlock()
	wg.Wait()
}

// Writes that arrive while another write holds the branch are committed
// together: one synced transaction moves the branch over one commit per
// write, each the parent of the next, so every acknowledged write is its
// own version in the history. Conditional writes in the group see the
// writes before them: of two that name the same version, one wins and the
// other is 412.
func TestConcurrentWritesShareOneSyncedWrite(t *testing.T) {
	t.Parallel()
	g := newGroupRig(t)
	seed := commitDocs(t, g.r, mainRef, map[string]string{"shared.json": `{"v": 0}`, "gone.txt": "bye\n"}, t0)

	var writes []*groupWrite
	for i := range 12 {
		writes = append(writes, &groupWrite{method: http.MethodPut, key: fmt.Sprintf("docs/%02d.json", i), body: fmt.Sprintf(`{"n": %d}`, i)})
	}
	writes = append(writes,
		&groupWrite{method: http.MethodPut, key: "shared.json", body: `{"v": 1}`, headers: []string{"If-Match", etagOf(`{"v": 0}`)}},
		&groupWrite{method: http.MethodPut, key: "shared.json", body: `{"v": 2}`, headers: []string{"If-Match", etagOf(`{"v": 0}`)}},
		&groupWrite{method: http.MethodPut, key: "new.json", body: `{}`, headers: []string{"If-None-Match", "*"}},
		&groupWrite{method: http.MethodDelete, key: "gone.txt"},
	)
	g.sendTogether(t, writes)

	acked := map[objects.ID]*groupWrite{}
	sharedWins := 0
	for _, w := range writes {
		switch w.reply.status {
		case http.StatusOK, http.StatusCreated:
			acked[decodeWrite(t, w.reply).Commit] = w
			if w.key == "shared.json" {
				sharedWins++
			}
		case http.StatusPreconditionFailed:
			if w.key != "shared.json" {
				t.Errorf("%s %s: 412 %s", w.method, w.key, w.reply.body)
			}
		default:
			t.Fatalf("%s %s: status %d %s", w.method, w.key, w.reply.status, w.reply.body)
		}
	}
	if sharedWins != 1 || len(acked) != len(writes)-1 {
		t.Fatalf("%d writes acknowledged, %d of them to shared.json; want %d and 1", len(acked), sharedWins, len(writes)-1)
	}
	if puts, moves := g.store.puts.Load(), g.store.moves.Load(); moves != 1 || puts != 0 {
		t.Errorf("%d writes made %d synced puts and %d ref moves; want none and one", len(acked), puts, moves)
	}

	// Walk the branch back to the seed: one commit per acknowledged write,
	// each changing exactly its own document.
	ctx := context.Background()
	id := headOf(t, g.r, mainRef)
	for range len(acked) {
		w, ok := acked[id]
		if !ok {
			t.Fatalf("the branch holds commit %s, which no write was told of", id.Short())
		}
		delete(acked, id)
		c, err := g.r.ReadCommit(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Parents) != 1 {
			t.Fatalf("commit of %s %s has parents %v", w.method, w.key, c.Parents)
		}
		parent, err := g.r.ReadCommit(ctx, c.Parents[0])
		if err != nil {
			t.Fatal(err)
		}
		var changed []string
		err = g.r.Tree().Diff(ctx, parent.Index, c.Index, "", func(ch prolly.Change) error {
			changed = append(changed, ch.Key)
			return nil
		})
		if err != nil || len(changed) != 1 || changed[0] != w.key {
			t.Fatalf("commit of %s %s changes %v (%v)", w.method, w.key, changed, err)
		}
		e, ok, err := g.r.Tree().Get(ctx, c.Index, w.key)
		if err != nil || ok == (w.method == http.MethodDelete) {
			t.Fatalf("commit of %s %s: document present %v (%v)", w.method, w.key, ok, err)
		}
		if ok {
			if data, err := g.r.ReadDocument(ctx, e); err != nil || string(data) != w.body {
				t.Fatalf("commit of %s %s holds %q (%v), want %q", w.method, w.key, data, err, w.body)
			}
		}
		id = c.Parents[0]
	}
	if id != seed {
		t.Fatalf("after the acknowledged writes the history reaches %s, not the seed %s", id.Short(), seed.Short())
	}
}

// A group whose synced write fails fails every write in it: none is
// acknowledged, the branch stays, and a later group commits normally.
func TestFailedGroupFailsEveryWrite(t *testing.T) {
	t.Parallel()
	g := newGroupRig(t)
	seed := commitDocs(t, g.r, mainRef, map[string]string{"a.txt": "a\n"}, t0)
	var writes []*groupWrite
	for i := range 8 {
		writes = append(writes, &groupWrite{method: http.MethodPut, key: fmt.Sprintf("f/%d.txt", i), body: fmt.Sprintf("%d\n", i)})
	}
	g.store.fail.Store(true)
	g.sendTogether(t, writes)
	for _, w := range writes {
		if w.reply.status != http.StatusInternalServerError {
			t.Errorf("%s %s after a failed sync: status %d %s", w.method, w.key, w.reply.status, w.reply.body)
		}
		if has, err := g.r.Store().Has(context.Background(), objects.EncodeBlob([]byte(w.body)).ID); err != nil || has {
			t.Errorf("the document of a failed write is stored (%v)", err)
		}
	}
	if head := headOf(t, g.r, mainRef); head != seed {
		t.Fatalf("a failed group moved the branch to %s", head.Short())
	}
	g.store.fail.Store(false)
	g.sendTogether(t, writes)
	for _, w := range writes {
		expect(t, "write after the disk came back", w.reply, http.StatusCreated, "")
	}
}

// A write whose branch is deleted while it waits for its group is refused
// like a write to a branch that never existed: its group checks the
// branch under the write lock, so the write cannot start a new history
// under the deleted name.
func TestWriteToBranchDeletedWhileQueued(t *testing.T) {
	t.Parallel()
	g := newGroupRig(t)
	commitDocs(t, g.r, mainRef, map[string]string{"a.txt": "a"}, t0)
	side := commitDocs(t, g.r, objects.BranchPrefix+"side", map[string]string{"b.txt": "b"}, t0)
	w := &groupWrite{method: http.MethodPut, key: "c.txt?branch=side", body: "c"}
	g.rp.Writes().Lock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.reply = call(t, w.method, g.base+wire.PathDocs+"/"+w.key, []byte(w.body))
	}()
	for server.QueuedWrites(g.rp) < 1 {
		time.Sleep(time.Millisecond)
	}
	err := g.store.UpdateRefs(t.Context(), objects.RefUpdate{Name: objects.BranchPrefix + "side", Old: side})
	g.rp.Writes().Unlock()
	if err != nil {
		t.Fatal(err)
	}
	<-done
	expect(t, "PUT on a branch deleted meanwhile", w.reply, http.StatusNotFound, "not_found")
	if id := headOf(t, g.r, objects.BranchPrefix+"side"); !id.IsZero() {
		t.Fatalf("the refused write made the deleted branch again, at %s", id.Short())
	}
}

// Document reads of a branch whose head did not move read its commit
// once, not once per request; a read after a write sees the new head.
func TestReadsOfOneHeadReadItsCommitOnce(t *testing.T) {
	t.Parallel()
	g := newGroupRig(t)
	head := commitDocs(t, g.r, mainRef, map[string]string{"a.txt": "a", "b.txt": "b"}, t0)
	g.store.watch.Store(&head)
	base := g.base
	for range 5 {
		expect(t, "GET", call(t, http.MethodGet, base+wire.PathDocs+"/a.txt", nil), http.StatusOK, "")
	}
	expect(t, "list", call(t, http.MethodGet, base+wire.PathDocs, nil), http.StatusOK, "")
	if n := g.store.reads.Load(); n != 1 {
		t.Errorf("6 reads of one head read its commit %d times; want 1", n)
	}
	expect(t, "PUT", call(t, http.MethodPut, base+wire.PathDocs+"/a.txt", []byte("A")), http.StatusOK, "")
	if got := call(t, http.MethodGet, base+wire.PathDocs+"/a.txt", nil); got.status != http.StatusOK || string(got.body) != "A" {
		t.Errorf("GET after PUT: %d %q; want 200 \"A\"", got.status, got.body)
	}
}

// While a group is synced, the next group is built on it, and is stored
// once that sync succeeded: its first commit is the child of the group
// before. When that sync fails instead, the next group is built again on
// the branch as stored, and its writes succeed.
func TestNextGroupIsBuiltWhileOneSyncs(t *testing.T) {
	t.Parallel()
	for _, fails := range []bool{false, true} {
		t.Run(fmt.Sprintf("first sync fails %v", fails), func(t *testing.T) {
			t.Parallel()
			g := newGroupRig(t)
			seed := commitDocs(t, g.r, mainRef, map[string]string{"seed.txt": "s"}, t0)
			g.store.failHeld.Store(fails)
			hold := make(chan struct{})
			g.store.hold.Store(&hold)
			waitFor := func(what string, done func() bool) {
				t.Helper()
				for deadline := time.Now().Add(10 * time.Second); !done(); time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						close(hold)
						t.Fatalf("%s: not after 10 s", what)
					}
				}
			}
			var a, b reply
			var wg sync.WaitGroup
			wg.Go(func() { a = call(t, http.MethodPut, g.base+wire.PathDocs+"/a.txt", []byte("a")) })
			waitFor("the first group syncing", func() bool { return g.store.hold.Load() == nil })
			opened := g.store.opened.Load()
			wg.Go(func() { b = call(t, http.MethodPut, g.base+wire.PathDocs+"/b.txt", []byte("b")) })
			waitFor("the second group built meanwhile", func() bool { return g.store.opened.Load() > opened })
			close(hold)
			wg.Wait()
			want := decodeWrite(t, b).Commit
			expect(t, "second write", b, http.StatusCreated, "")
			c, err := g.r.ReadCommit(t.Context(), want)
			if err != nil {
				t.Fatal(err)
			}
			parent := seed
			if fails {
				expect(t, "write whose sync failed", a, http.StatusInternalServerError, "")
			} else {
				expect(t, "first write", a, http.StatusCreated, "")
				parent = decodeWrite(t, a).Commit
			}
			if len(c.Parents) != 1 || c.Parents[0] != parent {
				t.Errorf("the second write's commit has parents %v; want %s", c.Parents, parent.Short())
			}
			if head := headOf(t, g.r, mainRef); head != want {
				t.Errorf("the branch is at %s; want the second write's commit %s", head.Short(), want.Short())
			}
		})
	}
}

// One hold of the write lock commits up to maxPipelined groups while
// writes keep coming; only then may another writer (a push) take it. A
// hold reads the branch from the store once, for its first group (the
// groups after it are built on the one before), so the reads of the
// branch count the holds. Each write here arrives while the group before
// it syncs, so the committing loop also wakes for writes it then takes.
func TestWriteLockHeldOverMaxPipelinedGroups(t *testing.T) {
	t.Parallel()
	g := newGroupRig(t)
	commitDocs(t, g.r, mainRef, map[string]string{"seed.txt": "s"}, t0)
	put := func(i int) {
		r := call(t, http.MethodPut, fmt.Sprintf("%s%s/p/%d.txt", g.base, wire.PathDocs, i), []byte("x"))
		expect(t, "pipelined write", r, http.StatusCreated, "")
	}
	g.store.refReads.Store(0)
	put(-1)
	perHold := g.store.refReads.Load()
	if perHold == 0 {
		t.Fatal("a write read no ref")
	}

	g.store.refReads.Store(0)
	opened := g.store.opened.Load()
	gate := make(chan chan struct{})
	g.store.gate.Store(&gate)
	var clients sync.WaitGroup
	const writes = 2 * server.MaxPipelined
	clients.Go(func() { put(0) })
	release := <-gate
	for i := 1; i < writes; i++ {
		clients.Go(func() { put(i) })
		deadline := time.Now().Add(10 * time.Second)
		for server.QueuedWrites(g.rp) == 0 && g.store.opened.Load()-opened < int64(i+1) {
			if time.Now().After(deadline) {
				close(release)
				t.Fatalf("write %d neither queued nor committed after 10 s", i)
			}
			time.Sleep(time.Millisecond)
		}
		close(release)
		release = <-gate
	}
	close(release)
	clients.Wait()
	if holds := g.store.refReads.Load() / perHold; holds > 2 {
		t.Errorf("%d writes, each arriving while the one before synced, took the write lock %d times; want 2 (%d groups a hold)",
			writes, holds, server.MaxPipelined)
	}
}

// Writers that each wait for their write before sending the next share
// the next sync: once a group is durable, the group built while it synced
// waits (up to Limits.GroupWait) for the writers of that group to send
// their next writes, instead of syncing without them while they return.
func TestReturningWritersShareTheNextSync(t *testing.T) {
	t.Parallel()
	g := newGroupRigLimits(t, server.Limits{GroupWait: 2 * time.Second})
	commitDocs(t, g.r, mainRef, map[string]string{"seed.txt": "s"}, t0)
	opened := g.store.opened.Load()
	g.store.moves.Store(0)
	gate := make(chan chan struct{})
	g.store.gate.Store(&gate)
	stop := make(chan struct{})
	defer close(stop)
	put := func(key string) reply {
		return call(t, http.MethodPut, g.base+wire.PathDocs+"/"+key, []byte(key))
	}
	var a, a2, b reply
	var wg sync.WaitGroup
	wg.Go(func() {
		a = put("a.txt")
		a2 = put("a2.txt") // writer A's next write, once its first is durable
	})
	release := <-gate // A's group syncs
	wg.Go(func() { b = put("b.txt") })
	for deadline := time.Now().Add(10 * time.Second); g.store.opened.Load()-opened < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("b.txt was not built while a.txt synced, after 10 s")
		}
	}
	close(release)
	go func() { // release every sync from here on
		for {
			select {
			case r := <-gate:
				close(r)
			case <-stop:
				return
			}
		}
	}()
	wg.Wait()
	for _, r := range []reply{a, a2, b} {
		expect(t, "write", r, http.StatusCreated, "")
	}
	if moves := g.store.moves.Load(); moves != 2 {
		t.Errorf("a.txt, then b.txt and a2.txt made %d syncs; want 2 (b.txt waited for a2.txt)", moves)
	}
}

// Writers that come back later than Limits.GroupWait after their group
// was durable (a loaded machine) still share the next sync: GroupWait
// counts from the last write that joined, and the writers of the last
// group are waited for even when the committing goroutine stopped in
// between. Before, the first to come back was synced alone.
func TestSlowReturningWritersShareTheNextSync(t *testing.T) {
	t.Parallel()
	const wait = 300 * time.Millisecond
	g := newGroupRigLimits(t, server.Limits{GroupWait: wait})
	commitDocs(t, g.r, mainRef, map[string]string{"seed.txt": "s"}, t0)
	first := []*groupWrite{
		{method: http.MethodPut, key: "a1.txt", body: "a"},
		{method: http.MethodPut, key: "b1.txt", body: "b"},
	}
	g.sendTogether(t, first)
	for _, w := range first {
		expect(t, w.key, w.reply, http.StatusCreated, "")
	}
	time.Sleep(wait * 3 / 2) // both writers come back late
	var a, b reply
	var wg sync.WaitGroup
	g.store.moves.Store(0)
	wg.Go(func() { a = call(t, http.MethodPut, g.base+wire.PathDocs+"/a2.txt", []byte("a")) })
	time.Sleep(wait / 6) // and not quite together
	wg.Go(func() { b = call(t, http.MethodPut, g.base+wire.PathDocs+"/b2.txt", []byte("b")) })
	wg.Wait()
	expect(t, "a2.txt", a, http.StatusCreated, "")
	expect(t, "b2.txt", b, http.StatusCreated, "")
	if moves := g.store.moves.Load(); moves != 1 {
		t.Errorf("the two writers' next writes made %d syncs; want 1", moves)
	}
}
