package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/folio-db/folio/objects"
)

// SendIDs writes to w the objects ids names that src holds intact, once
// each, and leaves out those it lacks or holds damaged: a repair asks
// every leader it knows and takes what each has. It is the sender of the
// repair transfer (POST /v1/objects).
func SendIDs(ctx context.Context, src objects.ObjectReader, w PackWriter, ids []objects.ID) (Stats, error) {
	s := newSender(src, w, memIDs)
	defer s.spill.close()
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return s.stats, err
		}
		if sent, err := s.sent.has(id); err != nil {
			return s.stats, err
		} else if sent {
			continue
		}
		data, err := src.Get(ctx, id)
		if errors.Is(err, objects.ErrNotFound) || errors.Is(err, objects.ErrDamaged) {
			continue
		}
		if err != nil {
			return s.stats, err
		}
		if err := s.write(objects.Object{ID: id, Data: data}); err != nil {
			return s.stats, err
		}
	}
	return s.stats, nil
}

// ErrNotAsked: a pack answering a request for objects by ID carried an
// object that was not asked for. The pack is unusable (objects.ErrCorrupt).
var ErrNotAsked = fmt.Errorf("transfer: %w: an object that was not asked for", objects.ErrCorrupt)

// ReceiveIDs stores the objects of a pack answering a request for ids
// (SendIDs), replacing any damaged copy, and returns the IDs it stored.
// Every object was verified by the pack reader (it hashes to its ID and
// decodes), and must be one of ids: bytes that hash to an ID are that
// object, so a repair needs no other check. Objects are stored as they
// come, in batches, so memory stays bounded; on an error those stored
// stay (they are intact).
func ReceiveIDs(ctx context.Context, dst objects.ObjectWriter, r PackReader, ids []objects.ID) ([]objects.ID, error) {
	asked := make(map[objects.ID]bool, len(ids))
	for _, id := range ids {
		asked[id] = true
	}
	var got, batchIDs []objects.ID
	var batch []objects.Object
	batched := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := dst.Put(ctx, batch...); err != nil {
			return err
		}
		got = append(got, batchIDs...)
		batch, batchIDs, batched = batch[:0], batchIDs[:0], 0
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return got, err
		}
		obj, err := r.Next()
		if errors.Is(err, io.EOF) {
			return got, flush()
		}
		if err != nil {
			return got, errors.Join(err, flush())
		}
		if !asked[obj.ID] {
			return got, fmt.Errorf("%w: %s", ErrNotAsked, obj.ID.Short())
		}
		delete(asked, obj.ID) // twice is not asked
		batch = append(batch, obj)
		batchIDs = append(batchIDs, obj.ID)
		if batched += len(obj.Data); batched >= receiveBatchBytes {
			if err := flush(); err != nil {
				return got, err
			}
		}
	}
}
