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
// over the whole chain. Writes that arrive meanwhile make the next group,
// which is built on the chains of the one syncing and stored after it
// (commitGroups), so under load each group holds about as many writes as
// there are writers, and each write still is its own version in the
// history. A write is acknowledged only once its group is durable; a
// group that fails fails every write in it, and the group built on it is
// built again on the branch as stored.

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

// commitGroups commits the queued writes group by group until none wait.
// Groups are pipelined: while one group's chains are synced, the next
// group is built on them (repo.BuildChain), and stored only once the
// group before it is; a write is acknowledged when its own group is
// durable. The write lock is held over at most maxPipelined groups, so
// other writers (pushes, peers) get their turn.
func (s *Server) commitGroups(rp *Repo) {
	d := &rp.docs
	for {
		rp.writeMu.Lock()
		var pending *groupRun
		last := false
		// Only the groups committed count: the loop also wakes for
		// writes that arrive while a group syncs, and for their signals
		// left over once a group took them.
		for groups := 0; groups < maxPipelined; {
			d.awaitArrivals()
			d.mu.Lock()
			var group []*docWrite
			if pending == nil || len(d.waiting) >= len(pending.group) {
				group = d.waiting[:min(len(d.waiting), maxGroup)]
				d.waiting = d.waiting[len(group):]
			}
			if len(group) == 0 && pending == nil {
				d.waiting, d.running, last = nil, false, true
			}
			d.mu.Unlock()
			if last {
				break
			}
			if len(group) == 0 {
				// While a group syncs, the next starts once it has as
				// many writes (each group syncs once, whatever its
				// size), or when the sync is done.
				select {
				case <-pending.stored:
					pending = nil
				case <-d.queued:
				}
				continue
			}
			groups++
			next := s.buildGroup(rp, group, pending)
			pending.finish()
			next.rebuildOrphans(rp, pending)
			go next.store(rp)
			pending = next
		}
		pending.finish()
		rp.writeMu.Unlock()
		if last {
			return
		}
	}
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

// buildGroup builds the chains of a group, each on the chain of its
// branch in the group before (pending) if there is one.
func (s *Server) buildGroup(rp *Repo, group []*docWrite, pending *groupRun) *groupRun {
	g := &groupRun{group: group, stored: make(chan struct{})}
	g.ctx, g.cancel = context.WithTimeout(s.stop, s.opts.Limits.RequestTimeout)
	byRef := map[string]*chainRun{}
	for _, w := range group {
		if w.err = w.ctx.Err(); w.err != nil {
			continue
		}
		c := byRef[w.ref]
		if c == nil {
			c = &chainRun{ref: w.ref}
			byRef[w.ref] = c
			g.chains = append(g.chains, c)
		}
		c.writes = append(c.writes, w)
	}
	for _, c := range g.chains {
		if pending != nil {
			for _, p := range pending.chains {
				if p.ref == c.ref && p.chain != nil {
					c.after = p
				}
			}
		}
		if c.after == nil {
			c.err = checkBranchExists(g.ctx, rp, c.ref)
		}
		if c.err == nil {
			var after *repo.Chain
			if c.after != nil {
				after = c.after.chain
			}
			c.chain, c.err = rp.BuildChain(g.ctx, c.ref, chainWrites(c.writes), after)
		}
	}
	return g
}

// rebuildOrphans builds again, on what the store holds, the chains built
// on a chain of the group before that was not stored as built.
func (g *groupRun) rebuildOrphans(rp *Repo, before *groupRun) {
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
