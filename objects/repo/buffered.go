package repo

import (
	"bytes"
	"context"
	"sync"

	"github.com/folio-db/folio/objects"
)

// Buffered returns a repository over r whose object writes wait in memory,
// read back from there, until flush stores them all in one synced write
// (and whenever they pass maxBuffered bytes): a merge writes the nodes of
// each map it merges, then its commit, and a converging merge of a
// criss-cross history merges virtual bases first, each with its nodes and
// commit; stored one by one, those were half of a peered leader's synced
// writes. Ref updates through it store what waits first. Once flush
// returned, r holds everything written through it; until then, nothing
// may name those objects.
func (r *Repo) Buffered() (b *Repo, flush func(context.Context) error) {
	st := &bufferedStore{Store: r.store, pending: map[objects.ID][]byte{}}
	b = &Repo{Files: r.Files, store: st, tree: r.tree.Overlay(st), readOnly: r.readOnly, clock: r.clock,
		commits: r.commits, derived: r.derived} // ReadCommit keeps no commit that waits
	return b, func(ctx context.Context) error {
		if err := st.flush(ctx); err != nil {
			return err
		}
		b.tree.Publish()
		return nil
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
	if err := b.flush(ctx); err != nil {
		return err
	}
	return b.Store.UpdateRefs(ctx, updates...)
}

// flush stores what waits, in one Put; what it could not store stays.
func (b *bufferedStore) flush(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.order) == 0 {
		return nil
	}
	if err := b.Store.Put(ctx, b.order...); err != nil {
		return err
	}
	b.pending, b.order, b.size = map[objects.ID][]byte{}, nil, 0
	return nil
}
