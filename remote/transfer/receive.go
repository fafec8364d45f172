package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/folio-db/folio/objects"
)

// PackReader is where a receiver reads objects (wire.PackReader); Next
// returns verified objects and io.EOF after a complete pack.
type PackReader interface {
	Next() (objects.Object, error)
}

// ErrMissingReference: an object arrived before something it references.
// The pack is unusable, so it is a kind of objects.ErrCorrupt (a client
// error on the wire, not an internal one).
var ErrMissingReference = fmt.Errorf("transfer: %w: an object arrived before what it references", objects.ErrCorrupt)

// receiveBatchBytes is how much a receiver buffers between Puts: every Put
// is a synced write, so a clone of 100 MB makes a handful, not dozens.
const receiveBatchBytes = 16 << 20

// maxRemembered bounds the IDs a receiver keeps to answer reference checks
// without the store; past it, the store answers.
const maxRemembered = 1 << 20

// Receive stores the objects of a pack, checking that everything each one
// references is already stored or came earlier in the pack. On any error
// what was stored stays (it is complete and unreferenced) and the caller
// moves no ref. It returns what it stored.
func Receive(ctx context.Context, store interface {
	objects.ObjectReader
	objects.ObjectWriter
}, r PackReader) (Stats, error) {
	var (
		stats   Stats
		batch   []objects.Object
		batched int
		known   = map[objects.ID]bool{} // stored from this pack, up to maxRemembered
		pending = map[objects.ID]bool{} // in batch, not stored yet
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := store.Put(ctx, batch...)
		batch, batched = nil, 0
		clear(pending)
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		obj, err := r.Next()
		if errors.Is(err, io.EOF) {
			return stats, flush()
		}
		if err != nil {
			return stats, err
		}
		refs, err := objects.References(obj.Data)
		if err != nil {
			return stats, err
		}
		for _, ref := range refs {
			if known[ref] || pending[ref] {
				continue
			}
			ok, err := store.Has(ctx, ref)
			if err != nil {
				return stats, err
			}
			if !ok {
				return stats, fmt.Errorf("%w: %s needs %s", ErrMissingReference, obj.ID.Short(), ref.Short())
			}
		}
		if t, _ := objects.TypeOf(obj.Data); t == objects.TypeCommit {
			stats.Commits++
		}
		batch = append(batch, obj)
		batched += len(obj.Data)
		pending[obj.ID] = true
		stats.Objects++
		stats.Bytes += int64(len(obj.Data))
		if len(known) < maxRemembered {
			known[obj.ID] = true
		}
		if batched >= receiveBatchBytes {
			if err := flush(); err != nil {
				return stats, err
			}
		}
	}
}
