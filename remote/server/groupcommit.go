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
// over the whole chain. Writes that arrive meanwhile wait for the next
// group, so under load each group holds about as many writes as there are
// writers, and each write still is its own version in the history. A
// write is acknowledged only once its group is durable; a group that
// fails fails every write in it.

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
	d.mu.Unlock()
	if start {
		go s.commitGroups(rp)
	}
}

// commitGroups commits the queued writes group by group until none wait.
func (s *Server) commitGroups(rp *Repo) {
	d := &rp.docs
	for {
		rp.writeMu.Lock()
		d.awaitArrivals()
		d.mu.Lock()
		group := d.waiting[:min(len(d.waiting), maxGroup)]
		d.waiting = d.waiting[len(group):]
		if len(group) == 0 {
			d.waiting, d.running = nil, false
		}
		d.mu.Unlock()
		if len(group) == 0 {
			rp.writeMu.Unlock()
			return
		}
		s.commitGroup(rp, group)
		rp.writeMu.Unlock()
		for _, w := range group {
			close(w.done)
		}
	}
}

// commitGroup commits one group, a chain per branch, and sets every
// write's outcome.
func (s *Server) commitGroup(rp *Repo, group []*docWrite) {
	ctx, cancel := context.WithTimeout(s.stop, s.opts.Limits.RequestTimeout)
	defer cancel()
	var refs []string
	byRef := map[string][]*docWrite{}
	for _, w := range group {
		if w.err = w.ctx.Err(); w.err != nil {
			continue
		}
		if byRef[w.ref] == nil {
			refs = append(refs, w.ref)
		}
		byRef[w.ref] = append(byRef[w.ref], w)
	}
	for _, ref := range refs {
		commitChain(ctx, rp, ref, byRef[ref])
	}
}

// commitChain commits the writes of one branch. The branch must exist,
// checked here under the write lock rather than by each request: a
// branch deleted while its writes waited gets none of them.
func commitChain(ctx context.Context, rp *Repo, ref string, ws []*docWrite) {
	if err := checkBranchExists(ctx, rp, ref); err != nil {
		for _, w := range ws {
			w.err = err
		}
		return
	}
	writes := make([]repo.ChainWrite, len(ws))
	for i, w := range ws {
		writes[i] = w.ChainWrite
	}
	var res []repo.ChainResult
	var err error
	for range maxWriteRetries {
		res, err = rp.CommitChain(ctx, ref, writes)
		if !errors.Is(err, objects.ErrRefChanged) {
			break
		}
	}
	for i, w := range ws {
		if err != nil {
			w.err = err
			continue
		}
		w.commit, w.err = res[i].Commit, res[i].Err
	}
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
