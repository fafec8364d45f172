package repo

import (
	"bytes"
	"context"
	"errors"
	"sync"

	"github.com/folio-db/folio/objects"
)

// Buffered returns a repository over r whose object writes wait in memory,
// read back from there, until store stores them all in one synced write,
// with the ref updates it is given (and whenever they pass maxBuffered
// bytes): a merge writes the nodes of each map it merges, then its
// commit, and a converging merge of a criss-cross history merges virtual
// bases first, each with its nodes and commit; stored one by one, those
// were half of a peered leader's synced writes, and the move of the
// branch to the merge one more. Where the store can (a quarantine's
// Promote), the objects and the refs are one write; a ref that moved
// meanwhile is objects.ErrRefChanged, and the objects are stored all the
// same (a caller that lost that race merges again on them). Ref updates
// through b store what waits first. Once store returned, r holds
// everything written through b; until then, nothing may name those
// objects. Over a repository that is Buffered itself, it returns that
// one: what it writes waits for that one's store.
func (r *Repo) Buffered() (b *Repo, store func(context.Context, ...objects.RefUpdate) error) {
	if outer, ok := r.store.(*bufferedStore); ok {
		return r, func(ctx context.Context, updates ...objects.RefUpdate) error {
			if len(updates) == 0 {
				return nil
			}
			return outer.UpdateRefs(ctx, updates...)
		}
	}
	st := &bufferedStore{Store: r.store, pending: map[objects.ID][]byte{}}
	b = &Repo{Files: r.Files, store: st, tree: r.tree.Overlay(st), readOnly: r.readOnly, clock: r.clock,
		commits: r.commits, derived: r.derived} // ReadCommit keeps no commit that waits
	return b, func(ctx context.Context, updates ...objects.RefUpdate) error {
		stored, err := st.store(ctx, updates)
		if stored {
			b.tree.Publish()
		}
		return err
	}
}

// maxBuffered bounds the bytes a Buffered repository holds in memory.
const maxBuffered = 8 << 20

// bufferedStore keeps the objects put until flush, and reads them back.
type bufferedStore struct {
	objects.Store

	mu      sync.Mutex
	pending map[objects.ID][]byte
	order   []objects.Object // in the order put: referenced before referencing
	size    int64
}

func (b *bufferedStore) Put(ctx context.Context, objs ...objects.Object) error {
	b.mu.Lock()
	for _, o := range objs {
		if _, ok := b.pending[o.ID]; ok {
			continue
		}
		data := bytes.Clone(o.Data) // the caller may reuse o.Data
		b.pending[o.ID] = data
		b.order = append(b.order, objects.Object{ID: o.ID, Data: data})
		b.size += int64(len(data))
	}
	full := b.size >= maxBuffered
	b.mu.Unlock()
	if full {
		return b.flush(ctx)
	}
	return ctx.Err()
}

// waits says whether id waits in s, a bufferedStore, to be stored.
func waits(s objects.Store, id objects.ID) bool {
	b, ok := s.(*bufferedStore)
	if !ok {
		return false
	}
	_, held := b.held(id)
	return held
}

func (b *bufferedStore) held(id objects.ID) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.pending[id]
	return data, ok
}

func (b *bufferedStore) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	if data, ok := b.held(id); ok {
		return bytes.Clone(data), ctx.Err()
	}
	return b.Store.Get(ctx, id)
}

func (b *bufferedStore) Has(ctx context.Context, id objects.ID) (bool, error) {
	if _, ok := b.held(id); ok {
		return true, ctx.Err()
	}
	return b.Store.Has(ctx, id)
}

func (b *bufferedStore) UpdateRefs(ctx context.Context, updates ...objects.RefUpdate) error {
	_, err := b.store(ctx, updates)
	return err
}

// store stores what waits and applies updates, in one write where the
// store can; stored says whether what waits was stored (then nothing
// waits any more), even if the updates failed.
func (b *bufferedStore) store(ctx context.Context, updates []objects.RefUpdate) (stored bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.Store.(objects.Quarantiner)
	if ok && len(updates) > 0 && len(b.order) > 0 {
		err = b.promote(ctx, q, updates)
		if err == nil {
			b.clear()
			return true, nil
		}
		if !errors.Is(err, objects.ErrRefChanged) {
			return false, err
		}
		// Nothing was promoted: the objects go alone, for a retry.
	}
	if perr := b.flushLocked(ctx); perr != nil {
		return false, perr
	}
	if err == nil && len(updates) > 0 {
		err = b.Store.UpdateRefs(ctx, updates...)
	}
	return true, err
}

// promote stores what waits and applies updates through a quarantine.
func (b *bufferedStore) promote(ctx context.Context, q objects.Quarantiner, updates []objects.RefUpdate) error {
	qr, err := q.Quarantine(ctx)
	if err != nil {
		return err
	}
	defer qr.Discard()
	if a, ok := qr.(adopter); ok {
		err = a.Adopt(ctx, b.order...) // their bytes are never changed: Put cloned them
	} else {
		err = qr.Put(ctx, b.order...)
	}
	if err != nil {
		return err
	}
	return qr.Promote(ctx, func(objects.ID) bool { return true }, updates...)
}

// flush stores what waits, in one Put; what it could not store stays.
func (b *bufferedStore) flush(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked(ctx)
}

func (b *bufferedStore) flushLocked(ctx context.Context) error {
	if len(b.order) == 0 {
		return nil
	}
	if err := b.Store.Put(ctx, b.order...); err != nil {
		return err
	}
	b.clear()
	return nil
}

// clear forgets what waited, once stored.
func (b *bufferedStore) clear() {
	b.pending, b.order, b.size = map[objects.ID][]byte{}, nil, 0
}
