package client

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

// Store is objects.Store over a folio server's store API: what the CLI of
// a served repository opens its repo.Repo on, so every command runs the
// same code whether it holds the store or folio serve does.
//
// Round trips stay few. Objects put wait in the client (Get and Has see
// them) and travel with the next UpdateRefs, in one request that stores
// them and moves the refs by compare-and-swap; so a put and a commit cost
// one request each, plus the reads. Past pendingMax bytes they go ahead
// on their own. Objects read are checked against their ID here, as they
// were by the server's store. Gc, fsck and stats run in the server
// (repo.Maintainer).
type Store struct {
	c *Client

	mu      sync.Mutex
	pending map[objects.ID][]byte
	order   []objects.ID // in the order put: the apply's pack wants it
	bytes   int
}

var (
	_ objects.Store   = (*Store)(nil)
	_ repo.Maintainer = (*Store)(nil)
)

// pendingMax bounds the bytes of objects a Store holds before it sends
// them on their own.
const pendingMax = 32 << 20

// maxStoreReply bounds a stored object's bytes read in one reply.
const maxStoreReply = wire.DefaultMaxObjectSize

// NewStore returns the store of the repository c talks to.
func NewStore(c *Client) *Store {
	return &Store{c: c, pending: map[objects.ID][]byte{}}
}

// Get returns an object put here and not sent yet, or asks the server.
func (s *Store) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	s.mu.Lock()
	data, ok := s.pending[id]
	s.mu.Unlock()
	if ok {
		return append([]byte(nil), data...), nil
	}
	resp, err := s.c.do(ctx, http.MethodGet, wire.PathStoreObject+"/"+id.String(), "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err = io.ReadAll(io.LimitReader(resp.Body, maxStoreReply+1))
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", id.Short(), err)
	}
	if err := objects.Verify(id, data); err != nil {
		return nil, fmt.Errorf("object %s from the server: %w", id.Short(), err)
	}
	return data, nil
}

// Has reports an object put here or stored by the server.
func (s *Store) Has(ctx context.Context, id objects.ID) (bool, error) {
	s.mu.Lock()
	_, ok := s.pending[id]
	s.mu.Unlock()
	if ok {
		return true, nil
	}
	var out wire.StoreHas
	if err := s.c.postJSON(ctx, s.c.timeouts.Reply, wire.PathStoreHas, wire.StoreIDs{IDs: []objects.ID{id}}, &out); err != nil {
		return false, err
	}
	if len(out.Has) != 1 {
		return false, fmt.Errorf("server reply: %w: %d answers to 1 question", objects.ErrCorrupt, len(out.Has))
	}
	return out.Has[0], nil
}

// Put keeps objects until the next UpdateRefs sends them (or, past
// pendingMax, sends them at once).
func (s *Store) Put(ctx context.Context, objs ...objects.Object) error {
	s.mu.Lock()
	for _, o := range objs {
		if _, ok := s.pending[o.ID]; !ok {
			s.pending[o.ID] = append([]byte(nil), o.Data...)
			s.order = append(s.order, o.ID)
			s.bytes += len(o.Data)
		}
	}
	full := s.bytes >= pendingMax
	s.mu.Unlock()
	if full {
		return s.apply(ctx, nil, nil)
	}
	return nil
}

// UpdateRefs sends the objects put so far and moves the refs, all or none.
func (s *Store) UpdateRefs(ctx context.Context, updates ...objects.RefUpdate) error {
	if err := objects.CheckRefUpdates(updates); err != nil {
		return err
	}
	return s.apply(ctx, nil, updates)
}

// apply sends the pending objects, then extra, with updates: one request.
// The pending objects are dropped once the server has them.
func (s *Store) apply(ctx context.Context, extra []objects.Object, updates []objects.RefUpdate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.order) == 0 && len(extra) == 0 && len(updates) == 0 {
		return nil
	}
	req := wire.StoreApply{Updates: make([]wire.RefUpdate, len(updates))}
	for i, u := range updates {
		req.Updates[i] = wire.RefUpdate{Name: u.Name, Old: u.Old, New: u.New}
	}
	objs := make([]objects.Object, 0, len(s.order)+len(extra))
	for _, id := range s.order {
		objs = append(objs, objects.Object{ID: id, Data: s.pending[id]})
	}
	objs = append(objs, extra...)
	pr, pw := io.Pipe()
	go func() {
		err := wire.WriteFrame(pw, req)
		if err == nil {
			packw := wire.NewPackWriter(pw, wire.WriterOptions{})
			for _, o := range objs {
				if err = packw.Write(o); err != nil {
					break
				}
			}
			if err == nil {
				err = packw.Close()
			}
		}
		pw.CloseWithError(err)
	}()
	resp, err := s.c.do(ctx, http.MethodPost, wire.PathStoreApply, wire.ContentFramed, pr)
	pr.Close()
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out wire.StoreApplied
	if err := decodeJSON(resp, &out); err != nil {
		return err
	}
	clear(s.pending)
	s.order, s.bytes = s.order[:0], 0
	return nil
}

// Objects walks the server's objects, after sending those put here.
func (s *Store) Objects(ctx context.Context, prefix []byte, fn func(id objects.ID, data []byte) error) error {
	if err := s.apply(ctx, nil, nil); err != nil {
		return err
	}
	resp, err := s.c.do(ctx, http.MethodGet, wire.PathStoreObjects+"?prefix="+hex.EncodeToString(prefix), "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	pr := wire.NewPackReader(bufio.NewReaderSize(resp.Body, 64<<10), wire.Limits{})
	for {
		obj, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(obj.ID, obj.Data); err != nil {
			return err
		}
	}
}

// Ref returns a ref's value on the server.
func (s *Store) Ref(ctx context.Context, name string) (objects.ID, error) {
	var out wire.StoreRef
	err := s.c.getJSON(ctx, wire.PathStoreRef+"?name="+url.QueryEscape(name), &out)
	return out.ID, err
}

// Refs lists the server's refs under prefix, of every kind.
func (s *Store) Refs(ctx context.Context, prefix string) ([]objects.Ref, error) {
	var out []objects.Ref
	err := s.c.getJSON(ctx, wire.PathStoreRefs+"?prefix="+url.QueryEscape(prefix), &out)
	return out, err
}

// Quarantine keeps what arrives from another leader here until Promote
// sends it with its ref updates, in one apply the server checks again.
func (s *Store) Quarantine(ctx context.Context) (objects.Quarantine, error) {
	return &storeQuarantine{s: s, objs: map[objects.ID][]byte{}}, nil
}

// Close drops the objects no UpdateRefs came for.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.pending)
	s.order = nil
	return nil
}

// GC runs the server's gc on its repository; it never has the store to
// itself, so Exclusive is ignored.
func (s *Store) GC(ctx context.Context, opts repo.GCOptions) (*repo.GCReport, error) {
	body, err := newJSONBody(wire.StoreGC{Grace: opts.Grace, DryRun: opts.DryRun, Found: opts.Found != nil})
	if err != nil {
		return nil, err
	}
	resp, err := s.c.doWaiting(ctx, syncReply, http.MethodPost, wire.PathStoreGC, wire.ContentJSON, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var line wire.StoreGCLine
		if err := dec.Decode(&line); err != nil {
			return nil, fmt.Errorf("the server's gc reply: %w", err)
		}
		switch {
		case line.Found != nil && opts.Found != nil:
			opts.Found(line.Found.ID, line.Found.Size)
		case line.Error != nil:
			return nil, wire.CodeError(line.Error.Code, line.Error.Message)
		case line.Report != nil:
			var rep repo.GCReport
			if err := json.Unmarshal(line.Report, &rep); err != nil {
				return nil, fmt.Errorf("the server's gc reply: %w: %v", objects.ErrCorrupt, err)
			}
			return &rep, nil
		}
	}
}

// Fsck runs the server's fsck on its repository.
func (s *Store) Fsck(ctx context.Context) (*repo.FsckReport, error) {
	var rep repo.FsckReport
	err := s.c.postJSON(ctx, syncReply, wire.PathStoreFsck, struct{}{}, &rep)
	return &rep, err
}

// Stats counts the server's objects.
func (s *Store) Stats(ctx context.Context) (*repo.Stats, error) {
	var st repo.Stats
	if err := s.apply(ctx, nil, nil); err != nil {
		return nil, err
	}
	resp, err := s.c.doWaiting(ctx, syncReply, http.MethodGet, wire.PathStoreStats, "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return &st, decodeJSON(resp, &st)
}

// storeQuarantine is a Store's quarantine: objects held here, sent with
// the updates they came for.
type storeQuarantine struct {
	s     *Store
	mu    sync.Mutex
	objs  map[objects.ID][]byte
	order []objects.ID
}

func (q *storeQuarantine) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	q.mu.Lock()
	data, ok := q.objs[id]
	q.mu.Unlock()
	if ok {
		return append([]byte(nil), data...), nil
	}
	return q.s.Get(ctx, id)
}

func (q *storeQuarantine) Has(ctx context.Context, id objects.ID) (bool, error) {
	q.mu.Lock()
	_, ok := q.objs[id]
	q.mu.Unlock()
	if ok {
		return true, nil
	}
	return q.s.Has(ctx, id)
}

func (q *storeQuarantine) Put(ctx context.Context, objs ...objects.Object) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, o := range objs {
		if _, ok := q.objs[o.ID]; !ok {
			q.objs[o.ID] = append([]byte(nil), o.Data...)
			q.order = append(q.order, o.ID)
		}
	}
	return nil
}

func (q *storeQuarantine) Promote(ctx context.Context, keep func(objects.ID) bool, updates ...objects.RefUpdate) error {
	if err := objects.CheckRefUpdates(updates); err != nil {
		return err
	}
	q.mu.Lock()
	var kept []objects.Object
	for _, id := range q.order {
		if keep(id) {
			kept = append(kept, objects.Object{ID: id, Data: q.objs[id]})
		}
	}
	q.mu.Unlock()
	defer q.Discard()
	return q.s.apply(ctx, kept, updates)
}

func (q *storeQuarantine) Discard() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	clear(q.objs)
	q.order = nil
	return nil
}
