package transfer

import (
	"context"
	"errors"
	"sync"

	"github.com/folio-db/folio/objects"
)

// A sender's work is reading and checking objects, and the pack writer's
// is compressing them: in a clone each takes about as long as the other.
// packPipe runs the writer on a goroutine of its own, so the two share
// the cores instead of taking turns. Objects are copied into batches of
// pipeBatchBytes or pipeBatchObjects, at most pipeBatches of them under
// way, so the pipe's memory stays bounded whatever the pack's size. The
// batches are made as the pack needs them, and grow as objects are copied
// in: most packs between peered leaders are a few kilobytes, and making
// the whole bound up front allocated a megabyte for each.
const (
	pipeBatchBytes   = 256 << 10
	pipeBatchObjects = 1024
	pipeBatches      = 4
)

// packPipe is a PackWriter that hands what it is given to another
// PackWriter on a goroutine, in order. The first error of that writer is
// returned by a later Write and by close.
type packPipe struct {
	ctx  context.Context
	cur  *pipeBatch
	full chan *pipeBatch // to the writing goroutine
	free chan *pipeBatch // back from it, written
	made int             // batches made, at most pipeBatches
	done chan struct{}   // closed when the goroutine has ended

	mu  sync.Mutex
	err error // the writer's first error
}

type pipeBatch struct {
	data []byte           // the objects' bytes, one after the other
	objs []objects.Object // whose Data are slices of data
}

func newPackPipe(ctx context.Context, w PackWriter) *packPipe {
	p := &packPipe{ctx: ctx, full: make(chan *pipeBatch, pipeBatches), free: make(chan *pipeBatch, pipeBatches), done: make(chan struct{})}
	p.cur, p.made = &pipeBatch{}, 1
	go p.write(w)
	return p
}

// write writes the batches that come, until the pipe closes; past an
// error it only hands them back.
func (p *packPipe) write(w PackWriter) {
	defer close(p.done)
	for b := range p.full {
		for _, obj := range b.objs {
			if p.failed() != nil {
				break
			}
			if err := w.Write(obj); err != nil {
				p.fail(err)
			}
		}
		b.objs = b.objs[:0]
		if cap(b.data) > 2*pipeBatchBytes {
			b.data = nil // after a large object
		}
		b.data = b.data[:0]
		p.free <- b
	}
}

func (p *packPipe) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

func (p *packPipe) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Write copies obj into the current batch, and passes the batch on once
// full.
func (p *packPipe) Write(obj objects.Object) error {
	b := p.cur
	if b == nil { // a pass failed
		return errors.Join(p.failed(), p.ctx.Err())
	}
	start := len(b.data)
	b.data = append(b.data, obj.Data...) // a larger copy leaves earlier objects' bytes where they are
	b.objs = append(b.objs, objects.Object{ID: obj.ID, Data: b.data[start:len(b.data):len(b.data)]})
	if len(b.data) < pipeBatchBytes && len(b.objs) < pipeBatchObjects {
		return nil
	}
	return p.pass()
}

// pass hands the current batch to the writer and takes a free one.
func (p *packPipe) pass() error {
	if err := p.failed(); err != nil {
		return err
	}
	p.full <- p.cur
	p.cur = nil
	select {
	case p.cur = <-p.free:
		return p.failed()
	default:
	}
	if p.made < pipeBatches {
		p.cur = &pipeBatch{}
		p.made++
		return nil
	}
	select {
	case p.cur = <-p.free:
		return p.failed()
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// close writes what is left and waits for the writer; it returns the
// writer's first error. A pipe that failed may have dropped objects: the
// pack it wrote is not to be used.
func (p *packPipe) close() error {
	if p.cur != nil && len(p.cur.objs) > 0 {
		p.full <- p.cur
	}
	p.cur = nil
	close(p.full)
	<-p.done
	return p.failed()
}
