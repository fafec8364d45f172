package transfer

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/folio-db/folio/objects"
)

// PackWriter is where a sender writes objects (wire.PackWriter).
type PackWriter interface {
	Write(obj objects.Object) error
}

// Stats counts what a transfer moved.
type Stats struct {
	Commits int   `json:"commits"`
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"` // encoded object bytes, before compression
}

// sender writes the objects the receiver lacks, each once, in dependency
// order. What it has sent, and the commits it is to send, go to a
// temporary file past memIDs each (see idSet), so its memory does not
// grow with the history.
type sender struct {
	src    Source
	nodes  *nodeReader
	w      PackWriter
	spill  *spill
	sent   *idSet   // what went, but for the blobs walked (below)
	walked *walkSet // a clone's blobs sent in store order, nil if none
	stats  Stats
	last   sentCommit // the commit read last: the next one's parent, mostly
}

// sentCommit is a commit as read and as stored.
type sentCommit struct {
	id   objects.ID
	c    *objects.Commit
	data []byte
}

func newSender(src Source, w PackWriter, memIDs int) *sender {
	sp := &spill{memIDs: memIDs}
	return &sender{src: src, nodes: newNodeReader(src), w: w, spill: sp, sent: newIDSet(sp)}
}

// DecodedNodes holds nodes of a source decoded (prolly.Tree, whose cache
// has the nodes its repository wrote and read lately).
type DecodedNodes interface {
	// Cached returns the node with that ID, or nil if it holds none.
	Cached(id objects.ID) *objects.Node
}

// PackSender is a source that makes the pack itself: a remote store
// (remote/client.Store, the CLI of a served repository), whose server
// holds the objects. Sending from it object by object would cost a round
// trip per object read (and a clone's store-order walk, its whole store).
type PackSender interface {
	// SendPack is Send, run where the objects are.
	SendPack(ctx context.Context, w PackWriter, wants, haves []objects.ID) (Stats, error)
}

// Send writes to w every object reachable from wants that is not reachable
// from haves, in dependency order, and returns what it wrote. A source
// that is a PackSender makes the pack itself.
func Send(ctx context.Context, src Source, w PackWriter, wants, haves []objects.ID) (Stats, error) {
	return SendWithNodes(ctx, src, nil, w, wants, haves)
}

// SendWithNodes is Send comparing the maps with the nodes that decoded
// holds (nil: none), rather than reading and decoding them again: the
// nodes a leader's peers fetch are mostly those it just wrote or
// received, and compares with those before them.
func SendWithNodes(ctx context.Context, src Source, decoded DecodedNodes, w PackWriter, wants, haves []objects.ID) (Stats, error) {
	if ps, ok := src.(PackSender); ok {
		return ps.SendPack(ctx, w, wants, haves)
	}
	pipe := newPackPipe(ctx, w)
	st, err := send(ctx, src, decoded, pipe, wants, haves, memIDs)
	if perr := pipe.close(); err == nil {
		err = perr
	}
	return st, err
}

// send is Send from a store, writing to w on the sender's goroutine.
func send(ctx context.Context, src Source, decoded DecodedNodes, w PackWriter, wants, haves []objects.ID, memIDs int) (Stats, error) {
	s := newSender(src, w, memIDs)
	s.nodes.decoded = decoded
	defer s.spill.close()
	return s.send(ctx, wants, haves)
}

func (s *sender) send(ctx context.Context, wants, haves []objects.ID) (Stats, error) {
	src := s.src
	missing := newIDList(s.spill)
	if err := walkMissing(ctx, src, wants, haves, missing.push); err != nil {
		return Stats{}, err
	}
	if walker, ok := src.(objects.ObjectWalker); ok && !anyHad(ctx, src, haves) && missing.len() > 0 {
		s.walked = &walkSet{needed: newIDSet(s.spill), notBlobs: newIDSet(s.spill)}
		if err := s.sendBlobsInStoreOrder(ctx, walker, missing); err != nil {
			return s.stats, err
		}
	}
	err := missing.backward(func(id objects.ID) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, base, err := s.commitAndBase(ctx, id)
		if err != nil {
			return err
		}
		others, err := s.otherParents(ctx, c.c, base)
		if err != nil {
			return err
		}
		if err := s.sendMap(ctx, base.Index, c.c.Index, true, others.indexes...); err != nil {
			return err
		}
		if err := s.sendMap(ctx, base.Conflicts, c.c.Conflicts, false, others.conflicts...); err != nil {
			return err
		}
		s.stats.Commits++
		if sent, err := s.sent.has(id); sent || err != nil {
			return err
		}
		return s.write(objects.Object{ID: id, Data: c.data})
	})
	return s.stats, err
}

// commitAndBase reads a commit to send and the commit to compare it with:
// a parent the receiver has, so a merge sends only what is new to it, else
// the first parent. Parents are sent before their children, so a parent
// not sent yet is one the receiver has.
func (s *sender) commitAndBase(ctx context.Context, id objects.ID) (sentCommit, objects.Commit, error) {
	c, err := s.readCommit(ctx, id)
	if err != nil {
		return c, objects.Commit{}, err
	}
	base, err := s.baseOf(ctx, c.c)
	s.last = c // commits go parents first: c is likely the next one's base
	return c, base, err
}

func (s *sender) baseOf(ctx context.Context, c *objects.Commit) (objects.Commit, error) {
	if len(c.Parents) == 0 {
		return objects.Commit{}, nil
	}
	pick := c.Parents[0]
	if len(c.Parents) > 1 {
		var err error
		if pick, err = s.parentTheReceiverHas(c.Parents); err != nil {
			return objects.Commit{}, err
		}
	}
	pc, err := s.readCommit(ctx, pick)
	if err != nil {
		return objects.Commit{}, err
	}
	return *pc.c, nil
}

// readCommit reads and decodes a commit, unless it is the one read last.
func (s *sender) readCommit(ctx context.Context, id objects.ID) (sentCommit, error) {
	if s.last.c != nil && s.last.id == id {
		return s.last, nil
	}
	c, data, err := readCommitBytes(ctx, s.src, id)
	return sentCommit{id: id, c: c, data: data}, err
}

// parentTheReceiverHas is the first of a merge's parents not sent, else
// the first.
func (s *sender) parentTheReceiverHas(parents []objects.ID) (objects.ID, error) {
	for _, p := range parents {
		if sent, err := s.sent.has(p); err != nil || !sent {
			return p, err
		}
	}
	return parents[0], nil
}

// anyHad reports whether the source has any of the receiver's haves.
func anyHad(ctx context.Context, src Source, haves []objects.ID) bool {
	for _, h := range haves {
		if ok, _ := src.Has(ctx, h); ok {
			return true
		}
	}
	return false
}

// walkSet is what a clone's first step sent: every document that the
// commits' indexes name (needed) but those the walk found not to be
// blobs (notBlobs, mostly empty: chunked documents).
type walkSet struct {
	needed, notBlobs *idSet
}

// has reports whether the walk sent id (none if there was no walk). An
// entry of an index sent is in needed by construction (each commit's
// index differs from its first parent's by the entries listed, and the
// walk covered every commit), so for one (indexed) only the few
// exceptions need a look-up.
func (w *walkSet) has(id objects.ID, indexed bool) (bool, error) {
	if w == nil {
		return false, nil
	}
	if !indexed {
		if in, err := w.needed.has(id); !in || err != nil {
			return false, err
		}
	}
	notBlob, err := w.notBlobs.has(id)
	return !notBlob, err
}

// wasSent reports whether id went already, by the walk or since.
func (s *sender) wasSent(id objects.ID, indexed bool) (bool, error) {
	if sent, err := s.walked.has(id, indexed); sent || err != nil {
		return sent, err
	}
	return s.sent.has(id)
}

// sendBlobsInStoreOrder is the first step of a clone (a receiver that has
// nothing): it lists the documents the commits' indexes name, then sends
// those that are plain blobs while walking the store in its own order.
// Reading a store's objects in order is many times faster than looking
// each up at random, and a clone reads nearly all of them. Objects nothing
// reaches (a document staged and reset) are not sent. The rest of the
// send then knows these blobs sent (s.walked) without a set of its own:
// past memIDs, one costs a read of a run on disk per look-up.
func (s *sender) sendBlobsInStoreOrder(ctx context.Context, walker objects.ObjectWalker, missing *idList) error {
	needed := s.walked.needed
	err := missing.backward(func(id objects.ID) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Nothing is sent yet, so every commit compares with its first parent.
		c, base, err := s.commitAndBase(ctx, id)
		if err != nil {
			return err
		}
		d, err := diffMaps(ctx, s.nodes, base.Index, c.c.Index)
		if err != nil {
			return err
		}
		items, err := d.newItems(ctx, s.nodes)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := needed.add(it.Entry.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The walk and the needed IDs both go in ID order: step them together.
	// A needed ID the walk passes without meeting is not in the store.
	var rerr error
	next, stop := iter.Pull(needed.sorted(&rerr))
	defer stop()
	want, more := next()
	var met objects.ID // the needed ID met last (one may come twice)
	err = walker.Objects(ctx, nil, func(id objects.ID, data []byte) error {
		for more && want.Compare(id) < 0 {
			if want != met {
				return fmt.Errorf("send %s: %w", want.Short(), objects.ErrNotFound)
			}
			want, more = next()
		}
		if !more || want != id {
			return nil
		}
		met = id
		if len(data) == 0 || objects.Type(data[0]) != objects.TypeBlob {
			return s.walked.notBlobs.add(id)
		}
		// The walk hands over stored bytes unchecked.
		if err := objects.CheckStored(id, data); err != nil {
			return err
		}
		return s.writeOnly(objects.Object{ID: id, Data: data})
	})
	for ; err == nil && more; want, more = next() {
		if want != met {
			err = fmt.Errorf("send %s: %w", want.Short(), objects.ErrNotFound)
		}
	}
	if err = errors.Join(err, rerr); err != nil {
		return err
	}
	// The rest of the send only looks IDs up in needed: on disk, past
	// memIDs, like the sent set it stands in for.
	stop()
	return needed.seal()
}

// otherMaps are the maps of a merge's parents other than its base.
type otherMaps struct{ indexes, conflicts []objects.ID }

// otherParents reads the maps of c's parents other than base. The
// receiver holds every parent's maps whole when the commit arrives (it
// had the parent, or the parent came earlier in this pack), so a merge
// needs only what none of them holds: in leaders peered all-to-all, most
// merges are of commits the receiver has both of, and compared with one
// parent alone, the other's changed documents went again.
func (s *sender) otherParents(ctx context.Context, c *objects.Commit, base objects.Commit) (otherMaps, error) {
	var out otherMaps
	if len(c.Parents) < 2 {
		return out, nil
	}
	for _, p := range c.Parents {
		pc, err := readCommit(ctx, s.src, p)
		if err != nil {
			return out, err
		}
		if pc.Index != base.Index {
			out.indexes = append(out.indexes, pc.Index)
		}
		if pc.Conflicts != base.Conflicts {
			out.conflicts = append(out.conflicts, pc.Conflicts)
		}
	}
	return out, nil
}

// sendMap sends the documents and nodes of map `to` that map `from`
// lacks, and so do the maps also (which the receiver holds too); indexed
// says the maps are commits' indexes.
func (s *sender) sendMap(ctx context.Context, from, to objects.ID, indexed bool, also ...objects.ID) error {
	d, err := diffMaps(ctx, s.nodes, from, to)
	if err != nil {
		return err
	}
	items, err := d.newItems(ctx, s.nodes)
	if err != nil {
		return err
	}
	nodes := d.newNodes
	for _, other := range also {
		if items, nodes, err = s.alsoLacks(ctx, other, to, items, nodes); err != nil {
			return err
		}
	}
	for _, it := range items {
		if err := s.sendEntry(ctx, it.Entry, d.oldEntry(it.Key), indexed); err != nil {
			return err
		}
	}
	for _, level := range nodes {
		for _, id := range level {
			if err := s.sendObject(ctx, id, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// alsoLacks keeps, of the items and nodes of map `to` found new, those
// that map other lacks too.
func (s *sender) alsoLacks(ctx context.Context, other, to objects.ID, items []objects.NodeItem, nodes [][]objects.ID) ([]objects.NodeItem, [][]objects.ID, error) {
	d, err := diffMaps(ctx, s.nodes, other, to)
	if err != nil {
		return nil, nil, err
	}
	newItems, err := d.newItems(ctx, s.nodes)
	if err != nil {
		return nil, nil, err
	}
	lacked := map[objects.ID]bool{}
	for _, it := range newItems {
		lacked[it.Entry.ID] = true
	}
	for _, level := range d.newNodes {
		for _, id := range level {
			lacked[id] = true
		}
	}
	items = slices.DeleteFunc(items, func(it objects.NodeItem) bool { return !lacked[it.Entry.ID] })
	kept := make([][]objects.ID, len(nodes))
	for i, level := range nodes {
		for _, id := range level {
			if lacked[id] {
				kept[i] = append(kept[i], id)
			}
		}
	}
	return items, kept, nil
}

// sendEntry sends a document (a chunked one after the chunks the old
// version under the same key lacks) or a conflict record (after the
// versions it keeps, which the receiver may never have seen); indexed
// says e is an entry of a commit's index.
func (s *sender) sendEntry(ctx context.Context, e, old objects.Entry, indexed bool) error {
	if sent, err := s.wasSent(e.ID, indexed); sent || err != nil {
		return err
	}
	data, err := s.src.Get(ctx, e.ID)
	if err != nil {
		return err
	}
	switch t, _ := objects.TypeOf(data); t {
	case objects.TypeChunked:
		doc, err := objects.DecodeChunked(data)
		if err != nil {
			return err
		}
		had, err := s.chunksOf(ctx, old)
		if err != nil {
			return err
		}
		for _, ch := range doc.Chunks {
			if !had[ch.ID] {
				if err := s.sendObject(ctx, ch.ID, true); err != nil {
					return err
				}
			}
		}
	case objects.TypeConflict:
		rec, err := objects.DecodeConflict(data)
		if err != nil {
			return err
		}
		for _, side := range []objects.Entry{rec.Base, rec.Ours, rec.Theirs} {
			if !side.ID.IsZero() {
				if err := s.sendEntry(ctx, side, objects.Entry{}, false); err != nil {
					return err
				}
			}
		}
	}
	return s.write(objects.Object{ID: e.ID, Data: data})
}

// chunksOf lists the chunks of a chunked document (none for anything else).
func (s *sender) chunksOf(ctx context.Context, e objects.Entry) (map[objects.ID]bool, error) {
	out := map[objects.ID]bool{}
	if e.ID.IsZero() {
		return out, nil
	}
	data, err := s.src.Get(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	if t, _ := objects.TypeOf(data); t != objects.TypeChunked {
		return out, nil
	}
	doc, err := objects.DecodeChunked(data)
	if err != nil {
		return nil, err
	}
	for _, ch := range doc.Chunks {
		out[ch.ID] = true
	}
	return out, nil
}

// sendObject sends a node or a chunk. Only a chunk (a blob) may be one
// the walk sent, so only for one (blob) is the walk asked.
func (s *sender) sendObject(ctx context.Context, id objects.ID, blob bool) error {
	sent, err := s.sent.has(id)
	if blob && !sent && err == nil {
		sent, err = s.walked.has(id, false)
	}
	if sent || err != nil {
		return err
	}
	data, err := s.nodes.get(ctx, id)
	if err != nil {
		return fmt.Errorf("send %s: %w", id.Short(), err)
	}
	return s.write(objects.Object{ID: id, Data: data})
}

// write sends an object the caller found not sent yet.
func (s *sender) write(obj objects.Object) error {
	if err := s.writeOnly(obj); err != nil {
		return err
	}
	return s.sent.add(obj.ID)
}

// writeOnly sends an object without adding it to s.sent.
func (s *sender) writeOnly(obj objects.Object) error {
	if err := s.w.Write(obj); err != nil {
		return err
	}
	s.stats.Objects++
	s.stats.Bytes += int64(len(obj.Data))
	return nil
}
