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

// leafReader hands out the leaves of a map in key order, from where a
// cursor stands at level 1, reading them ahead in parallel. The number
// read ahead grows with the leaves used (1, 2, 3, ... up to
// maxLeavesAhead), so a walk that stops in its first leaf (a page of a
// listing) reads at most one more. Errors come in key order: a leaf that
// fails to load is reported when the walk reaches it.
type leafReader struct {
	t       *Tree
	c       *cursor // on the next leaf to start reading; nil: none left
	prefix  string  // no leaf wholly past the keys with this prefix is read
	ctx     context.Context
	cancel  context.CancelFunc
	jobs    chan *leafRead
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
	return &leafReader{t: t, c: c, prefix: prefix, ctx: ctx, cancel: cancel, jobs: make(chan *leafRead, maxLeavesAhead+1)}
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

// fill starts reads until want are queued or no leaf is left.
func (r *leafReader) fill(want int) {
	for len(r.queue) < want && r.c != nil && !r.c.done() {
		f := r.c.top()
		read := &leafRead{parent: f.node, i: f.idx, lo: r.c.lo(), done: make(chan struct{})}
		if pastPrefix(read.lo, r.prefix) {
			r.c = nil
			return
		}
		r.queue = append(r.queue, read)
		if r.readers < min(len(r.queue), maxLeafReaders) {
			r.readers++
			r.wg.Add(1)
			go r.read()
		}
		r.jobs <- read // never blocks: the queue is shorter than the buffer
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
}

// read is one reader goroutine: it reads the leaves it is given.
func (r *leafReader) read() {
	defer r.wg.Done()
	for read := range r.jobs {
		read.node, read.err = r.t.child(r.ctx, read.parent, read.i, read.lo, false)
		close(read.done)
	}
}

// close stops the reads still running and waits for the readers.
func (r *leafReader) close() {
	r.cancel()
	close(r.jobs)
	r.wg.Wait()
}
