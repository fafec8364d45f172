package prolly

import (
	"context"
	"sync"

	"github.com/folio-db/folio/objects"
)

// Reading a leaf costs a store read (in Badger, decompressing a 16 KiB
// block for a 4 KiB node; through a server, a round trip): a walk over
// many leaves reads several at once, to use the other cores, or the time
// on the wire, while the caller handles the keys before them.
const (
	// maxLeavesAhead bounds the leaves read ahead of the one in use.
	maxLeavesAhead = 16
	// maxLeafReaders bounds the goroutines that read them. They live as
	// long as the walk: a goroutine per leaf would grow a new stack for
	// every store read.
	maxLeafReaders = 8
)

// Prefetcher is a store that reads many objects in one go (a store behind
// a server: one round trip for many) and keeps them for the Gets that
// follow. Prefetch is a hint: an object it fails to bring is read by Get.
type Prefetcher interface {
	Prefetch(ctx context.Context, ids []objects.ID)
}

// leafReader hands out the leaves of a map in key order, from where a
// cursor stands at level 1, reading them ahead in parallel. The number
// read ahead grows with the leaves used (1, 2, 3, ... up to
// maxLeavesAhead), so a walk that stops in its first leaf (a page of a
// listing) reads at most one more; past that, it tops the window up once
// half of it is used, so a Prefetcher store gets the leaves in batches.
// Errors come in key order: a leaf that fails to load is reported when the
// walk reaches it.
type leafReader struct {
	t       *Tree
	c       *cursor // on the next leaf to start reading; nil: none left
	prefix  string  // no leaf wholly past the keys with this prefix is read
	ctx     context.Context
	cancel  context.CancelFunc
	jobs    chan []*leafRead // one leaf, or a batch for a Prefetcher
	readers int
	wg      sync.WaitGroup
	queue   []*leafRead // started, in key order
	used    int
}

// leafRead is one leaf: where it hangs, and once done is closed, the node
// or the error reading it.
type leafRead struct {
	parent *objects.Node
	i      int
	lo     string
	done   chan struct{}
	node   *objects.Node
	err    error
}

func (t *Tree) newLeafReader(ctx context.Context, c *cursor, prefix string) *leafReader {
	ctx, cancel := context.WithCancel(ctx)
	return &leafReader{t: t, c: c, prefix: prefix, ctx: ctx, cancel: cancel, jobs: make(chan []*leafRead, maxLeavesAhead+1)}
}

// next returns the next leaf, or nil after the last.
func (r *leafReader) next() (*objects.Node, error) {
	r.fill(1 + min(r.used, maxLeavesAhead))
	if len(r.queue) == 0 {
		return nil, nil
	}
	read := r.queue[0]
	r.queue = r.queue[1:]
	r.used++
	select {
	case <-read.done:
	case <-r.ctx.Done():
		return nil, r.ctx.Err()
	}
	return read.node, read.err
}

// fill starts reads once fewer than half of want are queued, until want
// are or no leaf is left.
func (r *leafReader) fill(want int) {
	if len(r.queue) > want/2 {
		return
	}
	var batch []*leafRead
	for len(r.queue) < want && r.c != nil && !r.c.done() {
		f := r.c.top()
		read := &leafRead{parent: f.node, i: f.idx, lo: r.c.lo(), done: make(chan struct{})}
		if pastPrefix(read.lo, r.prefix) {
			r.c = nil
			break
		}
		r.queue = append(r.queue, read)
		batch = append(batch, read)
		r.c.advance()
		if err := r.c.downTo(r.ctx, 1); err != nil {
			// The nodes above the leaves failed: the walk ends there,
			// after the leaves before.
			failed := &leafRead{done: make(chan struct{}), err: err}
			close(failed.done)
			r.queue = append(r.queue, failed)
			r.c = nil
		}
	}
	if _, ok := r.t.store.(Prefetcher); ok && len(batch) > 1 {
		r.start([][]*leafRead{batch})
		return
	}
	jobs := make([][]*leafRead, len(batch))
	for i, read := range batch {
		jobs[i] = []*leafRead{read}
	}
	r.start(jobs)
}

// start hands jobs to the readers, starting readers as needed.
func (r *leafReader) start(jobs [][]*leafRead) {
	for _, job := range jobs {
		if r.readers < min(len(r.queue), maxLeafReaders) {
			r.readers++
			r.wg.Add(1)
			go r.read()
		}
		r.jobs <- job // never blocks: there are fewer jobs than queued leaves
	}
}

// read is one reader goroutine: it reads the leaves it is given, a batch
// prefetched first.
func (r *leafReader) read() {
	defer r.wg.Done()
	for job := range r.jobs {
		if p, ok := r.t.store.(Prefetcher); ok && len(job) > 1 {
			ids := make([]objects.ID, len(job))
			for i, read := range job {
				ids[i] = read.parent.Items[read.i].Entry.ID
			}
			p.Prefetch(r.ctx, ids)
		}
		for _, read := range job {
			read.node, read.err = r.t.child(r.ctx, read.parent, read.i, read.lo, false)
			close(read.done)
		}
	}
}

// close stops the reads still running and waits for the readers.
func (r *leafReader) close() {
	r.cancel()
	close(r.jobs)
	r.wg.Wait()
}
