package memstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/folio-db/folio/objects"
)

// Store keeps objects and refs in maps guarded by one mutex.
type Store struct {
	mu      sync.RWMutex
	objects map[objects.ID][]byte
	refs    map[string]objects.ID
	closed  bool
	feed    feed // guarded by mu, except its signal (feed.go)
}

var _ objects.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{objects: map[objects.ID][]byte{}, refs: map[string]objects.ID{}}
}

var errClosed = fmt.Errorf("memstore: closed")

// Get implements objects.ObjectReader.
func (s *Store) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	data, ok := s.objects[id]
	if !ok {
		return nil, fmt.Errorf("object %s: %w", id.Short(), objects.ErrNotFound)
	}
	if err := objects.CheckStored(id, data); err != nil {
		return nil, err
	}
	return bytes.Clone(data), nil
}

// Has implements objects.ObjectReader.
func (s *Store) Has(ctx context.Context, id objects.ID) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false, errClosed
	}
	_, ok := s.objects[id]
	return ok, nil
}

// Put implements objects.ObjectWriter.
func (s *Store) Put(ctx context.Context, objs ...objects.Object) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	for _, o := range objs {
		// Always replace: a good copy replaces a damaged one (repair).
		s.objects[o.ID] = bytes.Clone(o.Data)
	}
	return nil
}

// Objects implements objects.ObjectWalker.
func (s *Store) Objects(ctx context.Context, prefix []byte, fn func(objects.ID, []byte) error) error {
	s.mu.RLock()
	ids := make([]objects.ID, 0, len(s.objects))
	for id := range s.objects {
		if bytes.HasPrefix(id[:], prefix) {
			ids = append(ids, id)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(ids, objects.ID.Compare)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.RLock()
		data := s.objects[id]
		s.mu.RUnlock()
		if err := fn(id, data); err != nil {
			return err
		}
	}
	return nil
}

// Ref implements objects.RefReader.
func (s *Store) Ref(ctx context.Context, name string) (objects.ID, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.refs[name]
	if !ok {
		return objects.ID{}, fmt.Errorf("ref %s: %w", name, objects.ErrNotFound)
	}
	return id, nil
}

// Refs implements objects.RefReader.
func (s *Store) Refs(ctx context.Context, prefix string) ([]objects.Ref, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var refs []objects.Ref
	for name, id := range s.refs {
		if strings.HasPrefix(name, prefix) {
			refs = append(refs, objects.Ref{Name: name, ID: id})
		}
	}
	slices.SortFunc(refs, func(a, b objects.Ref) int { return strings.Compare(a.Name, b.Name) })
	return refs, nil
}

// UpdateRefs implements objects.RefUpdater.
func (s *Store) UpdateRefs(ctx context.Context, updates ...objects.RefUpdate) error {
	return s.moveRefs(updates, nil)
}

// moveRefs applies updates, all or none, after calling before (when set)
// under the same lock.
func (s *Store) moveRefs(updates []objects.RefUpdate, before func()) error {
	if err := objects.CheckRefUpdates(updates); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	for _, u := range updates {
		if cur := s.refs[u.Name]; cur != u.Old {
			return objects.RefChangedError(u, cur)
		}
	}
	if before != nil {
		before()
	}
	for _, u := range updates {
		if u.New.IsZero() {
			delete(s.refs, u.Name)
		} else {
			s.refs[u.Name] = u.New
		}
	}
	s.feed.record(updates)
	return nil
}

// Quarantine implements objects.Quarantiner: the objects wait in a map of
// their own, and Promote moves them and the refs under the store's lock.
func (s *Store) Quarantine(ctx context.Context) (objects.Quarantine, error) {
	return &quarantine{s: s, objects: map[objects.ID][]byte{}}, nil
}

type quarantine struct {
	s       *Store
	mu      sync.Mutex
	objects map[objects.ID][]byte
	order   []objects.ID
}

func (q *quarantine) lookup(id objects.ID) ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	data, ok := q.objects[id]
	return data, ok
}

func (q *quarantine) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	if data, ok := q.lookup(id); ok {
		return bytes.Clone(data), nil
	}
	return q.s.Get(ctx, id)
}

func (q *quarantine) Has(ctx context.Context, id objects.ID) (bool, error) {
	if _, ok := q.lookup(id); ok {
		return true, nil
	}
	return q.s.Has(ctx, id)
}

func (q *quarantine) Put(ctx context.Context, objs ...objects.Object) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, o := range objs {
		if _, ok := q.objects[o.ID]; !ok {
			q.objects[o.ID] = bytes.Clone(o.Data)
			q.order = append(q.order, o.ID)
		}
	}
	return nil
}

func (q *quarantine) Promote(ctx context.Context, keep func(objects.ID) bool, updates ...objects.RefUpdate) error {
	defer q.Discard()
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.s.moveRefs(updates, func() {
		for _, id := range q.order {
			if _, ok := q.s.objects[id]; !ok && keep(id) {
				q.s.objects[id] = q.objects[id]
			}
		}
	})
}

func (q *quarantine) Discard() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.objects, q.order = map[objects.ID][]byte{}, nil
	return nil
}

// Close implements objects.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
