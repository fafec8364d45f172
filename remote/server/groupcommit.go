package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// Document writes are committed in groups. A write joins its repository's
// queue; one goroutine at a time takes the repository's write lock and
// commits everything queued, branch by branch, as a chain of one commit
// per write (repo.CommitChain): one synced transaction moves the branch
// over the whole chain. Writes that arrive meanwhile are built, as they
// arrive, into the next group, on the chains of the one syncing, which is
// stored after it once that group's writers sent their next writes
// (commitHold): so writers that each wait for their write share every
// sync, and each write still is its own version in the history. A write
// is acknowledged only once its group is durable; a group that fails
// fails every write in it, and the group built on it is built again on
// the branch as stored.

// docWrite is one document write waiting for its group.
type docWrite struct {
	repo.ChainWrite
	ctx  context.Context // the request's: a write whose request ended is dropped
	ref  string
	done chan struct{} // closed when commit or err is set

	created bool // set by Check: the document did not exist
	commit  objects.ID
	err     error
}

// docQueue holds a repository's document writes until a group takes them.
type docQueue struct {
	mu       sync.Mutex
	waiting  []*docWrite
	running  bool          // a goroutine is committing groups
	arriving int           // writes whose requests are being read (arrive)
	joined   chan struct{} // a signal when one of them joined or gave up
	queued   chan struct{} // a signal when a write joined waiting
	want     int           // the writes the next goroutine's first group waits for
}

// arrive counts a write whose request is being read: a group about to
// start waits a little for it (awaitArrivals), so that writers sent
// together are committed together rather than in a large group and a
// small one. leave, which the write calls once queued or given up,
// may be called more than once.
func (d *docQueue) arrive() (leave func()) {
	d.mu.Lock()
	d.arriving++
	if d.joined == nil {
		d.joined = make(chan struct{}, 1)
	}
	d.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			d.mu.Lock()
			d.arriving--
			d.mu.Unlock()
			select {
			case d.joined <- struct{}{}:
			default:
			}
		})
	}
}

// awaitArrivals waits until no write is being read, or joinWait passed.
func (d *docQueue) awaitArrivals() {
	timer := time.NewTimer(joinWait)
	defer timer.Stop()
	for {
		d.mu.Lock()
		n := d.arriving
		d.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-d.joined:
		case <-timer.C:
			return
		}
	}
}

const (
	// maxGroup bounds the writes of one group, and so the memory and the
	// transaction size of one chain.
	maxGroup = 256
	// maxWriteRetries bounds the retries of a group that lost a race with
	// something else moving the same branch.
	maxWriteRetries = 5
	// joinWait bounds how long a group waits for writes still arriving.
	joinWait = time.Millisecond
)

// enqueue queues a write, and starts committing groups unless a goroutine
// already does. The caller waits for w.done: the goroutine uses the
// repository only while some writer waits for it.
func (s *Server) enqueue(rp *Repo, w *docWrite) {
	d := &rp.docs
	d.mu.Lock()
	d.waiting = append(d.waiting, w)
	start := !d.running
	d.running = true
	if d.queued == nil {
		d.queued = make(chan struct{}, 1)
	}
	queued := d.queued
	d.mu.Unlock()
	select {
	case queued <- struct{}{}:
	default:
	}
	if start {
		go s.commitGroups(rp)
	}
}

// commitGroups commits the queued writes group by group until none wait,
// one hold of the write lock (commitHold) after another. The first group
// waits for as many writes as the last group of the goroutine before
// (docQueue.want): writers that came back after it stopped still share
// a sync.
func (s *Server) commitGroups(rp *Repo) {
	d := &rp.docs
	d.mu.Lock()
	want := d.want
	d.mu.Unlock()
	for done := false; !done; {
		done, want = s.commitHold(rp, want)
	}
}

// commitHold commits groups under one hold of the write lock, and says
// whether no write is left. Groups are pipelined: while one group's
// chains are synced, the writes that arrive are built, as they arrive,
// into the next group, on the chains of the one syncing (repo.BuildChain,
// Chain.Add). The next group is stored once the one before it is, and
// once the writers of that group came back with their next writes, or
// no write joined it for Limits.GroupWait (counted from when the group
// before was stored, and from each write that joins after that; at most
// maxQuietWaits GroupWaits in all): writers that each wait for their
// write then share the next sync, rather than half of them syncing while
// the other half waits (the split that storing the next group at once
// settles in), even when they take longer than GroupWait to come back
// one after another, as on a loaded machine. A write is acknowledged
// when its own group is durable. The lock is held over at most
// maxPipelined groups, so other writers (pushes, peers) get their turn.
//
// The last group of a hold waits like any other; the writes that come
// meanwhile wait for the next hold. want is how many writes the first
// group waits for (the writers of the last groups of the hold before);
// commitHold returns it for the next.
func (s *Server) commitHold(rp *Repo, want int) (done bool, wantNext int) {
	d := &rp.docs
	rp.writeMu.Lock()
	defer rp.writeMu.Unlock()
	var before, next *groupRun // the group stored last, and the one built after it
	acked := false             // before is stored (or failed)
	wait := s.opts.Limits.GroupWait
	quiet := newQuietTimer(wait)
	defer quiet.stop()
	groups := 0 // started in this hold
	for {
		syncing := before != nil && !acked
		full := groups == maxPipelined && next == nil // no group starts in this hold
		if full && !syncing {
			d.mu.Lock()
			defer d.mu.Unlock()
			return false, len(before.group) + len(d.waiting) // the writers of both come back
		}
		var taken []*docWrite
		if !full {
			d.awaitArrivals()
			d.mu.Lock()
			taken = d.waiting[:min(len(d.waiting), maxGroup-next.size())]
			d.waiting = d.waiting[len(taken):]
			if len(taken) == 0 && next == nil && !syncing && quiet.passed {
				d.waiting, d.running, d.want, done = nil, false, want, true
			}
			d.mu.Unlock()
		}
		if done {
			return true, 0
		}
		if len(taken) > 0 {
			if next == nil {
				groups++
			}
			next = s.extendGroup(rp, next, taken, before)
			if !syncing {
				quiet.joined()
			}
		}
		if syncing && before.isStored() {
			acked, syncing, want = true, false, next.size()+len(before.group)
			quiet.restart()
		}
		if !syncing && next != nil && (next.size() >= want || next.size() >= maxGroup || quiet.passed) {
			next.rebuildOrphans(rp)
			go next.store(rp)
			before, next, acked = next, nil, false
			continue
		}
		var stored <-chan struct{}
		var queued <-chan struct{}
		var quietC <-chan time.Time
		if syncing {
			stored = before.stored
		} else if !quiet.passed {
			quietC = quiet.c()
		}
		if !full {
			queued = d.queued
		}
		select {
		case <-stored:
		case <-queued:
		case <-quietC:
			quiet.passed = true
		}
	}
}

// quietTimer says when no write joined the group being formed for wait,
// since it restarted (the group before was stored) or since the last
// write that joined; at most maxQuietWaits waits after it restarted, so
// writes that trickle in do not hold a group back for long.
type quietTimer struct {
	wait    time.Duration
	timer   *time.Timer
	started time.Time
	passed  bool // no write joined for wait, or the bound passed
}

const maxQuietWaits = 4

func newQuietTimer(wait time.Duration) *quietTimer {
	return &quietTimer{wait: wait, timer: time.NewTimer(wait), started: time.Now()}
}

func (q *quietTimer) c() <-chan time.Time { return q.timer.C }

func (q *quietTimer) stop() { q.timer.Stop() }

func (q *quietTimer) restart() {
	q.started, q.passed = time.Now(), false
	q.timer.Reset(q.wait)
}

// joined counts a write that joined: the wait starts again, within the bound.
func (q *quietTimer) joined() {
	if q.passed {
		return
	}
	left := time.Until(q.started.Add(maxQuietWaits * q.wait))
	if left <= 0 {
		q.passed = true
		return
	}
	q.timer.Reset(min(q.wait, left))
}

// maxPipelined bounds the groups committed under one hold of the write lock.
const maxPipelined = 16

// groupRun is one group being committed: a chain per branch.
type groupRun struct {
	group  []*docWrite
	ctx    context.Context
	cancel context.CancelFunc
	chains []*chainRun
	stored chan struct{} // closed when every chain is stored or failed
}

// chainRun is the writes of one branch in a group, and their chain.
type chainRun struct {
	ref    string
	writes []*docWrite
	chain  *repo.Chain // built, not stored yet; nil when building failed
	after  *chainRun   // of the group before, which chain was built on
	err    error       // of building, then of storing
	built  bool        // chain, as built, is what was stored
}

func (g *groupRun) size() int {
	if g == nil {
		return 0
	}
	return len(g.group)
}

// isStored says whether g is stored (or failed); false for no group.
func (g *groupRun) isStored() bool {
	if g == nil {
		return false
	}
	select {
	case <-g.stored:
		return true
	default:
		return false
	}
}

// extendGroup builds writes into g (a new group when g is nil), each onto
// the chain of its branch in g, or else on the chain of its branch in the
// group before (stored or being stored) if there is one.
func (s *Server) extendGroup(rp *Repo, g *groupRun, writes []*docWrite, before *groupRun) *groupRun {
	if g == nil {
		g = &groupRun{stored: make(chan struct{})}
		g.ctx, g.cancel = context.WithTimeout(s.stop, s.opts.Limits.RequestTimeout)
	}
	g.group = append(g.group, writes...)
	byRef := map[string][]*docWrite{}
	var refs []string
	for _, w := range writes {
		if w.err = w.ctx.Err(); w.err != nil {
			continue
		}
		if byRef[w.ref] == nil {
			refs = append(refs, w.ref)
		}
		byRef[w.ref] = append(byRef[w.ref], w)
	}
	for _, ref := range refs {
		g.chainOf(rp, ref, before).add(g.ctx, byRef[ref])
	}
	return g
}

// chainOf returns g's chain of branch ref, starting it (on the chain of
// ref in the group before, if any) when g has none yet. A chain built on
// one whose store failed is built again (rebuildOrphans).
func (g *groupRun) chainOf(rp *Repo, ref string, before *groupRun) *chainRun {
	for _, c := range g.chains {
		if c.ref == ref {
			return c
		}
	}
	c := &chainRun{ref: ref}
	g.chains = append(g.chains, c)
	if before != nil {
		for _, p := range before.chains {
			if p.ref == ref && p.chain != nil {
				c.after = p
			}
		}
	}
	if c.after == nil {
		c.err = checkBranchExists(g.ctx, rp, ref)
	}
	if c.err == nil {
		var after *repo.Chain
		if c.after != nil {
			after = c.after.chain
		}
		c.chain, c.err = rp.BuildChain(g.ctx, ref, nil, after)
	}
	return c
}

// add builds writes onto the chain; they fail with the chain when it
// failed before.
func (c *chainRun) add(ctx context.Context, writes []*docWrite) {
	c.writes = append(c.writes, writes...)
	if c.err != nil {
		return
	}
	if c.err = c.chain.Add(ctx, chainWrites(writes)); c.err != nil {
		c.chain.Discard()
		c.chain = nil
	}
}

// rebuildOrphans builds again, on what the store holds, the chains built
// on a chain of the group before that was not stored as built.
func (g *groupRun) rebuildOrphans(rp *Repo) {
	for _, c := range g.chains {
		if c.after == nil || c.after.built {
			continue
		}
		if c.chain != nil {
			c.chain.Discard()
		}
		c.after, c.chain, c.err = nil, nil, checkBranchExists(g.ctx, rp, c.ref)
		if c.err == nil {
			c.chain, c.err = rp.BuildChain(g.ctx, c.ref, chainWrites(c.writes), nil)
		}
	}
	for _, c := range g.chains {
		c.after = nil // so the groups before can go
	}
}

// store stores the group's chains, building a chain again on what the
// store holds when its branch moved meanwhile, and answers every write
// of the group as soon as it is done.
func (g *groupRun) store(rp *Repo) {
	defer close(g.stored)
	defer func() {
		g.cancel()
		for _, w := range g.group {
			close(w.done)
		}
	}()
	for _, c := range g.chains {
		if c.err == nil {
			c.err = c.chain.Store(g.ctx)
			c.built = c.err == nil
			c.chain.Discard()
		}
		var res []repo.ChainResult
		if c.err == nil {
			res = c.chain.Results
		}
		for try := 1; try < maxWriteRetries && errors.Is(c.err, objects.ErrRefChanged); try++ {
			if c.err = checkBranchExists(g.ctx, rp, c.ref); c.err == nil {
				res, c.err = rp.CommitChain(g.ctx, c.ref, chainWrites(c.writes))
			}
		}
		for i, w := range c.writes {
			if c.err != nil {
				w.err = c.err
				continue
			}
			w.commit, w.err = res[i].Commit, res[i].Err
		}
	}
}

// finish waits until the group is stored (and its writes answered).
func (g *groupRun) finish() {
	if g != nil {
		<-g.stored
	}
}

func chainWrites(ws []*docWrite) []repo.ChainWrite {
	writes := make([]repo.ChainWrite, len(ws))
	for i, w := range ws {
		writes[i] = w.ChainWrite
	}
	return writes
}

// checkBranchExists refuses writes to a branch that does not exist, so a
// typo in ?branch= does not start a new history that sync would spread;
// the repository's current branch may be written before its first commit.
func checkBranchExists(ctx context.Context, rp *Repo, ref string) error {
	if _, err := rp.Store().Ref(ctx, ref); err == nil || !errors.Is(err, objects.ErrNotFound) {
		return err
	}
	if head, err := rp.HeadRef(); err == nil && head == ref {
		return nil
	}
	return fmt.Errorf("branch %s: %w (create it first, or write to an existing one)", strings.TrimPrefix(ref, objects.BranchPrefix), objects.ErrNotFound)
}
