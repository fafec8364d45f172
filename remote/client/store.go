package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/transfer"
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
// on their own. A fetch's checks ask about many objects per request
// (Types), and a push has the server make its pack (SendPack). Objects read are checked against their ID here, as they
// were by the server's store. Gc, fsck and stats run in the server
// (repo.Maintainer).
type Store struct {
	c       *Client
	pending held       // put, not sent yet
	read    readCache  // objects read from the server
	applyMu sync.Mutex // one apply at a time, so pending objects go in order
	// the bytes held before they go on their own (pending), or before a
	// quarantine refuses more
	pendingMax, quarantineMax int
}

var (
	_ objects.Store        = (*Store)(nil)
	_ repo.Maintainer      = (*Store)(nil)
	_ repo.DamagedRefStore = (*Store)(nil)
	_ transfer.BatchReader = (*Store)(nil)
	_ transfer.PackSender  = (*Store)(nil)
	_ prolly.Prefetcher    = (*Store)(nil)
)

// DefaultPendingMax bounds the bytes of objects a Store holds before it
// sends them on their own.
const DefaultPendingMax = 32 << 20

// DefaultQuarantineMax bounds what a Store's quarantine holds (in memory,
// until Promote): a fetch into a served repository of more than that is
// refused, and 'folio sync' (which the server runs itself) is the way.
const DefaultQuarantineMax = 512 << 20

// ErrQuarantineFull: more arrived from a remote than a Store's quarantine
// holds.
var ErrQuarantineFull = fmt.Errorf("client: %w: more arrived than the CLI of a served repository holds at once; run 'folio sync' (the server fetches itself) or stop the server", objects.ErrTooLarge)

// maxStoreReply bounds a stored object's bytes read in one reply.
const maxStoreReply = wire.DefaultMaxObjectSize

// NewStore returns the store of the repository c talks to. c's errors
// then speak of the server as the one that serves this repository.
func NewStore(c *Client) *Store {
	c.noReply = fmt.Sprintf("the folio serve process at %s did not answer (if it has stopped, run the command again: it opens the repository itself)", c.URL())
	return &Store{c: c, pendingMax: DefaultPendingMax, quarantineMax: DefaultQuarantineMax}
}

// Get returns an object put here and not sent yet, or asks the server.
func (s *Store) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	if data, ok := s.pending.get(id); ok {
		return data, nil
	}
	if data, ok := s.read.get(id); ok {
		return data, nil
	}
	resp, err := s.c.do(ctx, http.MethodGet, wire.PathStoreObject+"/"+id.String(), "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxStoreReply+1))
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", id.Short(), err)
	}
	if err := objects.Verify(id, data); err != nil {
		return nil, fmt.Errorf("object %s from the server: %w", id.Short(), err)
	}
	s.read.put(id, data)
	return data, nil
}

// readCache keeps small objects read from the server, so a command that
// reads one twice (put and commit read the branch's commit twice) asks
// once: an object never changes under its ID, and what arrived was
// checked against it. It is bounded: once it holds readCacheBytes, it
// starts over.
type readCache struct {
	mu    sync.Mutex
	objs  map[objects.ID][]byte
	bytes int
}

const (
	readCacheBytes     = 4 << 20
	readCacheObjectMax = 64 << 10 // larger objects are read each time
)

// get returns a copy of a kept object: the caller may change it.
func (c *readCache) get(id objects.ID) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, ok := c.objs[id]
	return bytes.Clone(data), ok
}

func (c *readCache) has(id objects.ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.objs[id]
	return ok
}

func (c *readCache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.objs, c.bytes = nil, 0
}

// put keeps a copy of data.
func (c *readCache) put(id objects.ID, data []byte) {
	if len(data) > readCacheObjectMax {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.objs == nil || c.bytes+len(data) > readCacheBytes {
		c.objs, c.bytes = map[objects.ID][]byte{}, 0
	}
	if _, ok := c.objs[id]; !ok {
		c.objs[id] = bytes.Clone(data)
		c.bytes += len(data)
	}
}

// Prefetch reads the objects ids names that are neither put here nor
// read before, in one request, and keeps them for the Gets that follow (a
// walk over many leaves asks for them in batches, not one round trip
// each). It is a hint: an object it fails to bring is read by Get, which
// reports the error.
func (s *Store) Prefetch(ctx context.Context, ids []objects.ID) {
	var ask []objects.ID
	for _, id := range ids {
		if !s.pending.has(id) && !s.read.has(id) {
			ask = append(ask, id)
		}
	}
	if len(ask) == 0 || len(ask) > wire.MaxObjectsRequest {
		return
	}
	// The pack reader checks every object against its ID.
	_ = s.c.Objects(ctx, wire.ObjectsRequest{IDs: ask}, wire.Limits{}, func(pr *wire.PackReader) error {
		return eachPacked(pr, func(obj objects.Object) error {
			s.read.put(obj.ID, obj.Data)
			return nil
		})
	})
}

// Has reports an object put here or stored by the server.
func (s *Store) Has(ctx context.Context, id objects.ID) (bool, error) {
	if s.pending.has(id) {
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

// Types returns the type of each object, put here or stored by the
// server, and 0 for each neither holds: one request per
// wire.MaxObjectsRequest IDs the server is asked about
// (transfer.BatchReader).
func (s *Store) Types(ctx context.Context, ids []objects.ID) ([]objects.Type, error) {
	return s.pending.types(ids, func(ask []objects.ID) ([]objects.Type, error) {
		out := make([]objects.Type, 0, len(ask))
		for batch := range slices.Chunk(ask, wire.MaxObjectsRequest) {
			var got wire.StoreTypes
			if err := s.c.postJSON(ctx, s.c.timeouts.Reply, wire.PathStoreTypes, wire.StoreIDs{IDs: batch}, &got); err != nil {
				return nil, err
			}
			if len(got.Types) != len(batch) {
				return nil, fmt.Errorf("server reply: %w: %d answers to %d questions", objects.ErrCorrupt, len(got.Types), len(batch))
			}
			out = append(out, got.Types...)
		}
		return out, nil
	})
}

// Put keeps objects until the next UpdateRefs sends them (or, past
// pendingMax, sends them at once).
func (s *Store) Put(ctx context.Context, objs ...objects.Object) error {
	if s.pending.put(objs) >= s.pendingMax {
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
// The pending objects sent are dropped once the server has them.
func (s *Store) apply(ctx context.Context, extra []objects.Object, updates []objects.RefUpdate) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	sent := s.pending.list(nil)
	if len(sent) == 0 && len(extra) == 0 && len(updates) == 0 {
		return nil
	}
	req := wire.StoreApply{Updates: make([]wire.RefUpdate, len(updates))}
	for i, u := range updates {
		req.Updates[i] = wire.RefUpdate{Name: u.Name, Old: u.Old, New: u.New}
	}
	objs := append(sent[:len(sent):len(sent)], extra...)
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
	s.pending.drop(sent)
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
	return eachObject(bufio.NewReaderSize(resp.Body, 64<<10), func(obj objects.Object) error { return fn(obj.ID, obj.Data) })
}

// eachObject calls fn with each object of the pack r holds, verified
// against its ID, to its end.
func eachObject(r io.Reader, fn func(objects.Object) error) error {
	return eachPacked(wire.NewPackReader(r, wire.Limits{}), fn)
}

// eachPacked calls fn with each object pr reads, to its end.
func eachPacked(pr *wire.PackReader, fn func(objects.Object) error) error {
	for {
		obj, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(obj); err != nil {
			return err
		}
	}
}

// SendPack has the server make the pack of what the wants reach and the
// haves do not, after sending the objects put here, and writes its
// objects to w as they arrive (verified against their IDs): one request,
// the bytes of the pack (transfer.PackSender).
func (s *Store) SendPack(ctx context.Context, w transfer.PackWriter, wants, haves []objects.ID) (transfer.Stats, error) {
	var st transfer.Stats
	if err := s.apply(ctx, nil, nil); err != nil {
		return st, err
	}
	err := s.c.postForPack(ctx, wire.PathStoreSend, wire.StoreSend{Wants: wants, Haves: haves}, func(body *bufio.Reader) error {
		return eachObject(body, func(obj objects.Object) error {
			if err := w.Write(obj); err != nil {
				return err
			}
			if t, _ := objects.TypeOf(obj.Data); t == objects.TypeCommit {
				st.Commits++
			}
			st.Objects++
			st.Bytes += int64(len(obj.Data))
			return nil
		})
	})
	return st, err
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

// CheckedRefs lists the server's refs under prefix whose stored values
// pass their checks, and the damaged ones apart (fsck --repair).
func (s *Store) CheckedRefs(ctx context.Context, prefix string) ([]objects.Ref, []objects.DamagedRef, error) {
	var out wire.StoreCheckedRefs
	if err := s.c.getJSON(ctx, wire.PathStoreCheckedRefs+"?prefix="+url.QueryEscape(prefix), &out); err != nil {
		return nil, nil, err
	}
	var damaged []objects.DamagedRef
	for _, d := range out.Damaged {
		damaged = append(damaged, d.DamagedRef())
	}
	return out.Refs, damaged, nil
}

// DropDamagedRef has the server delete ref name if its stored value fails
// its check, and only then (objects.ErrRefNotDamaged; an absent ref is
// objects.ErrNotFound).
func (s *Store) DropDamagedRef(ctx context.Context, name string) (objects.DamagedRef, error) {
	var out wire.StoreDamagedRef
	err := s.c.postJSON(ctx, s.c.timeouts.Reply, wire.PathStoreDropDamagedRef, wire.StoreDropDamagedRef{Name: []byte(name)}, &out)
	return out.DamagedRef(), err
}

// Quarantine keeps what arrives from another leader here until Promote
// sends it with its ref updates, in one apply the server checks again.
func (s *Store) Quarantine(ctx context.Context) (objects.Quarantine, error) {
	return &storeQuarantine{s: s}, nil
}

// Close drops the objects no UpdateRefs came for, and those read.
func (s *Store) Close() error {
	s.pending.drop(nil)
	s.read.drop()
	return nil
}

// GC runs the server's gc on its repository; it never has the store to
// itself, so Exclusive is ignored.
func (s *Store) GC(ctx context.Context, opts repo.GCOptions) (*repo.GCReport, error) {
	if err := s.apply(ctx, nil, nil); err != nil {
		return nil, err
	}
	body, err := newJSONBody(wire.StoreGC{Grace: opts.Grace, DryRun: opts.DryRun, Found: opts.Found != nil})
	if err != nil {
		return nil, err
	}
	resp, err := s.c.doWaiting(ctx, syncReply, http.MethodPost, wire.PathStoreGC, wire.ContentJSON, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return readGCReply(resp.Body, opts.Found)
}

// maxGCLine bounds one line of a gc's reply.
const maxGCLine = 1 << 20

// readGCReply reads a gc's reply (JSON lines of wire.StoreGCLine), telling
// found of each object found, and returns its report or its error.
func readGCReply(r io.Reader, found func(objects.ID, int64)) (*repo.GCReport, error) {
	lines := bufio.NewScanner(r)
	lines.Buffer(make([]byte, 0, 64<<10), maxGCLine)
	for lines.Scan() {
		if len(bytes.TrimSpace(lines.Bytes())) == 0 {
			continue
		}
		var line wire.StoreGCLine
		if err := json.Unmarshal(lines.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("the server's gc reply: %w: %v", objects.ErrCorrupt, err)
		}
		switch {
		case line.Error != nil:
			return nil, wire.CodeError(line.Error.Code, line.Error.Message)
		case line.Report != nil:
			var rep repo.GCReport
			if err := json.Unmarshal(line.Report, &rep); err != nil {
				return nil, fmt.Errorf("the server's gc reply: %w: %v", objects.ErrCorrupt, err)
			}
			return &rep, nil
		case line.Found != nil && found != nil:
			found(line.Found.ID, line.Found.Size)
		}
	}
	if err := lines.Err(); err != nil {
		return nil, fmt.Errorf("the server's gc reply: %w", err)
	}
	return nil, fmt.Errorf("the server's gc reply: %w: it ended before its report", wire.ErrTruncated)
}

// Fsck runs the server's fsck on its repository, after sending the
// objects put here.
func (s *Store) Fsck(ctx context.Context) (*repo.FsckReport, error) {
	var rep repo.FsckReport
	if err := s.apply(ctx, nil, nil); err != nil {
		return nil, err
	}
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
	s    *Store
	objs held
}

func (q *storeQuarantine) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	if data, ok := q.objs.get(id); ok {
		return data, nil
	}
	return q.s.Get(ctx, id)
}

func (q *storeQuarantine) Has(ctx context.Context, id objects.ID) (bool, error) {
	if q.objs.has(id) {
		return true, nil
	}
	return q.s.Has(ctx, id)
}

// Types answers for the objects held here, and asks the store about the
// others.
func (q *storeQuarantine) Types(ctx context.Context, ids []objects.ID) ([]objects.Type, error) {
	return q.objs.types(ids, func(ask []objects.ID) ([]objects.Type, error) { return q.s.Types(ctx, ask) })
}

func (q *storeQuarantine) Put(ctx context.Context, objs ...objects.Object) error {
	if q.objs.put(objs) > q.s.quarantineMax {
		return ErrQuarantineFull
	}
	return nil
}

func (q *storeQuarantine) Promote(ctx context.Context, keep func(objects.ID) bool, updates ...objects.RefUpdate) error {
	if err := objects.CheckRefUpdates(updates); err != nil {
		return err
	}
	defer q.Discard()
	return q.s.apply(ctx, q.objs.list(keep), updates)
}

func (q *storeQuarantine) Discard() error {
	q.objs.drop(nil)
	return nil
}

// held are objects kept in the client, in the order they came (the
// order an apply's pack sends them in).
type held struct {
	mu    sync.Mutex
	objs  map[objects.ID][]byte
	order []objects.ID
	bytes int
}

// get returns a copy of a held object's bytes.
func (h *held) get(id objects.ID) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	data, ok := h.objs[id]
	return append([]byte(nil), data...), ok
}

// typeOf is the type of a held object.
func (h *held) typeOf(id objects.ID) (objects.Type, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	data, ok := h.objs[id]
	if !ok {
		return 0, false
	}
	t, _ := objects.TypeOf(data)
	return t, true
}

// types returns the type of each object: held here, or as ask answers
// for the IDs not held (in their order; 0: not stored).
func (h *held) types(ids []objects.ID, ask func([]objects.ID) ([]objects.Type, error)) ([]objects.Type, error) {
	out := make([]objects.Type, len(ids))
	var missing []int // indexes of the IDs not held here
	for i, id := range ids {
		var ok bool
		if out[i], ok = h.typeOf(id); !ok {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	askIDs := make([]objects.ID, len(missing))
	for j, i := range missing {
		askIDs[j] = ids[i]
	}
	got, err := ask(askIDs)
	if err != nil {
		return nil, err
	}
	if len(got) != len(askIDs) {
		return nil, fmt.Errorf("%w: %d types for %d objects", objects.ErrCorrupt, len(got), len(askIDs))
	}
	for j, i := range missing {
		out[i] = got[j]
	}
	return out, nil
}

func (h *held) has(id objects.ID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.objs[id]
	return ok
}

// put keeps copies of objs and returns the bytes held.
func (h *held) put(objs []objects.Object) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.objs == nil {
		h.objs = map[objects.ID][]byte{}
	}
	for _, o := range objs {
		if _, ok := h.objs[o.ID]; !ok {
			h.objs[o.ID] = append([]byte(nil), o.Data...)
			h.order = append(h.order, o.ID)
			h.bytes += len(o.Data)
		}
	}
	return h.bytes
}

// list returns the held objects keep accepts (nil: all), in order.
func (h *held) list(keep func(objects.ID) bool) []objects.Object {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []objects.Object
	for _, id := range h.order {
		if keep == nil || keep(id) {
			out = append(out, objects.Object{ID: id, Data: h.objs[id]})
		}
	}
	return out
}

// drop forgets the objects sent (nil: all).
func (h *held) drop(sent []objects.Object) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sent == nil {
		h.objs, h.order, h.bytes = nil, nil, 0
		return
	}
	for _, o := range sent {
		delete(h.objs, o.ID)
	}
	h.order = slices.DeleteFunc(h.order, func(id objects.ID) bool { _, ok := h.objs[id]; return !ok })
	h.bytes = 0
	for _, id := range h.order {
		h.bytes += len(h.objs[id])
	}
}
