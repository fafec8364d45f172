package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
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

// ErrBadReference: an object names an object of the wrong type (a commit
// whose index is a blob, a document entry naming a commit), or a commit's
// height does not follow its parents'.
var ErrBadReference = fmt.Errorf("transfer: %w: an object names the wrong kind of object", objects.ErrCorrupt)

// maxArrived bounds the objects a receiver into a local store lists as
// arrived for Admit (see Received.arrived); past it, Admit asks the store.
const maxArrived = 1 << 16

// receiveBatchBytes is how much a receiver buffers between Puts: every Put
// is a synced write, so a clone of 100 MB makes a handful, not dozens.
const receiveBatchBytes = 16 << 20

// maxRemembered bounds the objects a receiver keeps the type of to check
// references without the store; past it, the store answers.
const maxRemembered = 4 << 20

// Store is what a receiver writes to.
type Store interface {
	objects.ObjectReader
	objects.ObjectWriter
}

// Received is what a pack brought.
type Received struct {
	Stats
	// Held counts the objects that arrived but that the store held
	// already: dropped unread (counted in Stats too).
	Held    int
	heights map[objects.ID]uint64 // of the commits that arrived
	chunked map[objects.ID]bool   // chunked documents that arrived (few: large ones only)
	// arrived are the commits, nodes, conflict records and working sets
	// that arrived. A store that answers in batches (BatchReader) is asked
	// about them at once; for another, Admit takes each as not stored
	// (up to maxArrived of them; nil past it).
	arrived map[objects.ID]struct{}
	// reads are the stored objects Receive read, which Admit reads again.
	reads *sharedReads
	// parents are the maps of the stored parents of the commits that
	// arrived (nil for a store that answers in batches).
	parents *parentMaps
	// deferredChecks counts the references checked against the store
	// (not in the pack, nor known to the receiver).
	deferredChecks int
	// nodes are the nodes that arrived, as decoded (up to maxKeptNodeBytes
	// of them): Admit walks them, and the repository's tree may keep them.
	nodes     []arrivedNode
	nodeBytes int
}

type arrivedNode struct {
	id   objects.ID
	node *objects.Node
	size int
}

// maxKeptNodeBytes bounds the encoded size of the nodes a Received keeps
// decoded: a pack between leaders carries a few hundred kilobytes of them,
// a clone of a large repository gigabytes.
const maxKeptNodeBytes = 8 << 20

func (r *Received) keepNode(id objects.ID, n *objects.Node, size int) {
	if r.nodeBytes+size > maxKeptNodeBytes {
		return
	}
	r.nodes = append(r.nodes, arrivedNode{id, n, size})
	r.nodeBytes += size
}

// KeepNodes hands the nodes that arrived, decoded, to t's cache, those
// keep accepts (nil: all): call it once they are in t's store (the
// quarantine promoted with keep), so that what reads them next (a merge,
// a send to another peer) does not decode them again.
func (r *Received) KeepNodes(t *prolly.Tree, keep func(objects.ID) bool) {
	for _, n := range r.nodes {
		if keep == nil || keep(n.id) {
			t.Keep(n.id, n.node, n.size)
		}
	}
}

// ArrivedCommits lists the commits that arrived, in ID order.
func (r *Received) ArrivedCommits() []objects.ID {
	return slices.SortedFunc(maps.Keys(r.heights), objects.ID.Compare)
}

// Receive stores the objects of a pack, into a quarantine (see Admit).
// Every object must come after
// everything it references (stored already, or earlier in the pack), and
// each reference must name the right type of object: maps and parents of
// commits, children of nodes, documents of index leaves, records of
// conflict maps, versions and earlier records of conflict records, chunks
// of chunked documents; a commit's height must be one more than its
// highest parent's. On any error the caller moves no ref and discards
// the quarantine.
func Receive(ctx context.Context, store Store, r PackReader) (*Received, error) {
	return receive(ctx, store, r, false)
}

// ReceiveStaged is Receive that also takes working sets, whose maps and
// commits are checked like a commit's: the CLI of a served repository
// stages its changes through the server. Leaders never exchange them.
// Each leaf's keys pass objects.ValidateNewKey as they arrive.
func ReceiveStaged(ctx context.Context, store Store, r PackReader) (*Received, error) {
	return receive(ctx, store, r, true)
}

func receive(ctx context.Context, store Store, r PackReader, staged bool) (*Received, error) {
	return receiveWith(ctx, store, r, staged, receiveSizes{known: maxRemembered, batch: receiveBatchBytes})
}

// receiveSizes are a receiver's bounds (tests make them smaller).
type receiveSizes struct {
	known int // types of objects remembered in memory
	batch int // bytes between Puts
}

func receiveWith(ctx context.Context, store Store, r PackReader, staged bool, sizes receiveSizes) (*Received, error) {
	reads := newSharedReads(store)
	rc := &receiver{ctx: ctx, store: store, reads: reads, staged: staged, known: map[objects.ID]objects.Type{}, pending: map[objects.ID]objects.Type{},
		sizes: sizes, got: &Received{heights: map[objects.ID]uint64{}, chunked: map[objects.ID]bool{}, reads: reads}}
	if b, ok := store.(BatchReader); ok {
		rc.batcher, rc.got.arrived = b, map[objects.ID]struct{}{}
	} else {
		rc.parents = newParentMaps(reads)
		rc.got.parents, rc.got.arrived = rc.parents, map[objects.ID]struct{}{}
	}
	if _, ok := store.(objects.BulkLoad); ok {
		// A bulk load shows nothing it stored until it finishes, so past
		// maxKnown the types go to sets on disk instead of the store.
		rc.overflow = &typeSets{sp: &spill{memIDs: memIDs}}
		defer rc.overflow.close()
	}
	err := rc.run(r)
	// Nothing writes to the store once receive returns.
	if werr := rc.wait(); err == nil {
		err = werr
	}
	return rc.got, err
}

func (rc *receiver) run(r PackReader) error {
	for {
		if err := rc.ctx.Err(); err != nil {
			return err
		}
		obj, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rc.flush()
		}
		if err != nil {
			return err
		}
		if err := rc.take(obj); err != nil {
			return err
		}
	}
}

type receiver struct {
	ctx    context.Context
	store  Store
	reads  *sharedReads                // reads of store, kept for Admit
	staged bool                        // working sets are allowed
	known  map[objects.ID]objects.Type // stored, from this pack or looked up, up to sizes.known
	sizes  receiveSizes
	// overflow, when the store cannot answer for what it was given, keeps
	// the types of the objects past sizes.known.
	overflow *typeSets
	pending  map[objects.ID]objects.Type // in the batch, not stored yet
	batch    []objects.Object
	batched  int
	got      *Received
	// References to objects not in the pack are checked together, before
	// the batch is stored: a store that answers in batches is asked about
	// them at once; in a local store, the maps of the pack's stored
	// parents prove most of them (parentMaps), and the rest are read.
	batcher  BatchReader
	deferred []deferredRef
	// deferredAs are the checks deferred, by object and the types they
	// allow: the nodes of a pack's commits name mostly the same stored
	// objects (each commit's new leaf and the nodes above it name what
	// the last one's did), and one check of each is enough.
	deferredAs map[deferredCheck]struct{}
	parents    *parentMaps

	// One batch is stored while the next is read and checked: the store's
	// write and the pack's decoding and hashing each keep a core busy.
	storing map[objects.ID]objects.Type // the batch being stored
	stored  chan error                  // its Put's result; nil: none under way
}

func (rc *receiver) take(obj objects.Object) error {
	if held, err := rc.held(obj); held || err != nil {
		return err
	}
	v, err := objects.Decode(obj.Data)
	if err != nil {
		return err
	}
	t, _ := objects.TypeOf(obj.Data)
	if err := rc.checkReferences(obj.ID, v); err != nil {
		return err
	}
	switch o := v.(type) {
	case *objects.Commit:
		rc.got.heights[obj.ID] = o.Height
		rc.got.Stats.Commits++
	case *objects.Chunked:
		rc.got.chunked[obj.ID] = true
	case *objects.Node:
		rc.got.keepNode(obj.ID, o, len(obj.Data))
	}
	if rc.got.arrived != nil && t != objects.TypeBlob && t != objects.TypeChunked {
		if rc.batcher == nil && len(rc.got.arrived) >= maxArrived {
			rc.got.arrived = nil // Admit asks the store instead
		} else {
			rc.got.arrived[obj.ID] = struct{}{}
		}
	}
	rc.batch = append(rc.batch, obj)
	rc.batched += len(obj.Data)
	rc.pending[obj.ID] = t
	rc.got.Objects++
	rc.got.Bytes += int64(len(obj.Data))
	if rc.batched >= rc.sizes.batch {
		return rc.flush()
	}
	return nil
}

// held reports whether the store holds obj already, and counts it. Leaders
// peered all-to-all often receive what another leader's push brought
// meanwhile (a third of what fetches received in BenchmarkPeerMesh). An
// object stored was checked when it was stored, with all it reaches, so
// it is dropped, neither decoded nor stored again. What comes after it
// learns its type, and reads its bytes, from the copy that arrived: the
// stored one may be damaged (a failing disk), and a read of it would fail
// the whole pack where the pack holds a good copy.
//
// Documents (blobs, chunked) are never dropped: Admit keeps every
// document a new map names, so Promote writes it again, which freshens it
// (badgerstore's gc rule, doc.go); a stored document nothing named, older
// than gc's cutoff, would else be deleted by a collection under way while
// the new commit names it. They have no references to check anyway.
// Only a local store is asked: a remote one answers in batches, and a
// bulk load shows nothing before it finishes.
func (rc *receiver) held(obj objects.Object) (bool, error) {
	if rc.batcher != nil || rc.overflow != nil {
		return false, nil
	}
	t, err := objects.TypeOf(obj.Data)
	if err != nil || t == objects.TypeBlob || t == objects.TypeChunked {
		return false, nil // Decode reports a bad header
	}
	ok, err := rc.store.Has(rc.ctx, obj.ID)
	if !ok || err != nil {
		return false, err
	}
	if err := rc.remember(obj.ID, t); err != nil {
		return false, err
	}
	rc.reads.keep(obj.ID, obj.Data)
	rc.got.Held++
	rc.got.Objects++
	rc.got.Bytes += int64(len(obj.Data))
	return true, nil
}

// flush starts storing the batch, once the one before it is stored and
// the batch's deferred references are checked.
func (rc *receiver) flush() error {
	if err := rc.wait(); err != nil {
		return err
	}
	if err := rc.checkDeferred(); err != nil {
		return err
	}
	if len(rc.batch) == 0 {
		return nil
	}
	batch, done := rc.batch, make(chan error, 1)
	go func() { done <- rc.store.Put(rc.ctx, batch...) }()
	rc.storing, rc.stored = rc.pending, done
	rc.batch, rc.batched, rc.pending = nil, 0, map[objects.ID]objects.Type{}
	return nil
}

// wait waits for the batch being stored, if any.
func (rc *receiver) wait() error {
	if rc.stored == nil {
		return nil
	}
	err := <-rc.stored
	rc.stored = nil
	if err != nil {
		return err
	}
	for id, t := range rc.storing {
		if err := rc.remember(id, t); err != nil {
			return err
		}
	}
	rc.storing = nil
	return nil
}

// remember keeps the type of an object the store holds, up to sizes.known:
// the leaves of a pack's commits name mostly the same stored documents,
// and an ID's type never changes. Past it, only a receiver with overflow
// keeps it.
func (rc *receiver) remember(id objects.ID, t objects.Type) error {
	switch {
	case len(rc.known) < rc.sizes.known:
		rc.known[id] = t
	case rc.overflow != nil:
		return rc.overflow.add(id, t)
	}
	return nil
}

func (rc *receiver) want(from, id objects.ID, allowed ...objects.Type) error {
	return rc.check(deferredRef{from: from, id: id, allowed: allowed})
}

// wantItem is want for the entry of item i of node n, which a stored map
// may prove (see parentMaps).
func (rc *receiver) wantItem(from objects.ID, n *objects.Node, i int, allowed ...objects.Type) error {
	d := deferredRef{from: from, id: n.Items[i].Entry.ID, allowed: allowed}
	if rc.parents != nil {
		d.item = itemAt{level: n.Level, key: n.Items[i].Key, kind: n.Items[i].Entry.Kind}
		d.onItem = true
	}
	return rc.check(d)
}

// check checks a reference against what arrived and what the receiver
// knows, and defers it to checkDeferred otherwise.
func (rc *receiver) check(d deferredRef) error {
	if d.id.IsZero() {
		return nil
	}
	if t, ok := rc.pending[d.id]; ok {
		return checkType(d.from, d.id, t, d.allowed)
	}
	if t, ok := rc.storing[d.id]; ok {
		return checkType(d.from, d.id, t, d.allowed)
	}
	if t, ok := rc.known[d.id]; ok {
		return checkType(d.from, d.id, t, d.allowed)
	}
	if rc.overflow != nil {
		t, err := rc.overflow.typeOf(d.id)
		if err != nil {
			return err
		}
		if t != 0 {
			return checkType(d.from, d.id, t, d.allowed)
		}
	}
	return rc.deferRef(d)
}

// deferRef keeps a reference to an object not in the pack, to check with
// others (checkDeferred), at the latest once maxDeferred wait; unless the
// same check waits already. One that an item's place in a stored map
// proves (parentMaps) holds for another reference to the same object
// allowing the same types: that map's closure is stored whole, the object
// with it.
func (rc *receiver) deferRef(d deferredRef) error {
	k := deferredCheck{id: d.id, allowed: typeSet(d.allowed)}
	if _, ok := rc.deferredAs[k]; ok {
		return nil
	}
	if rc.deferredAs == nil {
		rc.deferredAs = map[deferredCheck]struct{}{}
	}
	rc.deferredAs[k] = struct{}{}
	rc.got.deferredChecks++
	rc.deferred = append(rc.deferred, d)
	if len(rc.deferred) < maxDeferred {
		return nil
	}
	return rc.checkDeferred()
}

func (rc *receiver) checkReferences(id objects.ID, v any) error {
	doc := []objects.Type{objects.TypeBlob, objects.TypeChunked}
	switch o := v.(type) {
	case *objects.Chunked:
		for _, ch := range o.Chunks {
			if err := rc.want(id, ch.ID, objects.TypeBlob); err != nil {
				return err
			}
		}
	case *objects.Node:
		for i, it := range o.Items {
			// The store API keeps what its refs do not reach, and Admit
			// trusts what is stored: the key rule Admit applies to each
			// leaf that arrives holds here, before it is stored.
			if rc.staged && o.Level == 0 {
				if err := objects.ValidateNewKey(it.Key); err != nil {
					return err
				}
			}
			allowed := doc
			switch {
			case o.Level > 0:
				allowed = []objects.Type{objects.TypeNode}
			case it.Entry.Kind == objects.KindConflict:
				allowed = []objects.Type{objects.TypeConflict}
			}
			if err := rc.wantItem(id, o, i, allowed...); err != nil {
				return err
			}
		}
	case *objects.Conflict:
		for _, side := range []objects.Entry{o.Base, o.Ours, o.Theirs} {
			if err := rc.want(id, side.ID, doc...); err != nil {
				return err
			}
		}
		for _, old := range o.Replaces {
			if err := rc.want(id, old, objects.TypeConflict); err != nil {
				return err
			}
		}
	case *objects.Commit:
		if err := rc.want(id, o.Index, objects.TypeNode); err != nil {
			return err
		}
		if err := rc.want(id, o.Conflicts, objects.TypeNode); err != nil {
			return err
		}
		var height uint64
		for _, p := range o.Parents {
			h, err := rc.height(id, p)
			if err != nil {
				return err
			}
			height = max(height, h)
		}
		if o.Height != height+1 {
			return fmt.Errorf("%w: commit %s has height %d, its parents say %d", ErrBadReference, id.Short(), o.Height, height+1)
		}
	case *objects.WorkingSet:
		if !rc.staged {
			return fmt.Errorf("%w: working sets are not replicated", ErrBadReference)
		}
		for _, c := range []objects.ID{o.Base, o.MergeHead} {
			if err := rc.want(id, c, objects.TypeCommit); err != nil {
				return err
			}
		}
		for _, m := range []objects.ID{o.Index, o.Conflicts} {
			if err := rc.want(id, m, objects.TypeNode); err != nil {
				return err
			}
		}
	}
	return nil
}

// height is a parent's height, from this pack or the store.
func (rc *receiver) height(from, parent objects.ID) (uint64, error) {
	if h, ok := rc.got.heights[parent]; ok {
		return h, nil
	}
	data, err := rc.reads.Get(rc.ctx, parent)
	if errors.Is(err, objects.ErrNotFound) {
		return 0, fmt.Errorf("%w: %s needs %s", ErrMissingReference, from.Short(), parent.Short())
	}
	if err != nil {
		return 0, err
	}
	c, err := objects.DecodeCommit(data)
	if err != nil {
		return 0, fmt.Errorf("%w: %s names %s as a parent: %v", ErrBadReference, from.Short(), parent.Short(), err)
	}
	if rc.parents != nil {
		rc.parents.add(c.Index, c.Conflicts)
	}
	return c.Height, nil
}

// typeSets keeps the types of many objects in bounded memory: one spilled
// set of IDs per type.
type typeSets struct {
	sp   *spill
	sets map[objects.Type]*idSet
}

func (ts *typeSets) add(id objects.ID, t objects.Type) error {
	if ts.sets == nil {
		ts.sets = map[objects.Type]*idSet{}
	}
	set, ok := ts.sets[t]
	if !ok {
		set = newIDSet(ts.sp)
		ts.sets[t] = set
	}
	return set.add(id)
}

// typeOf is the type of id, 0 if it is in no set.
func (ts *typeSets) typeOf(id objects.ID) (objects.Type, error) {
	for t, set := range ts.sets {
		if ok, err := set.has(id); ok || err != nil {
			return t, err
		}
	}
	return 0, nil
}

func (ts *typeSets) close() { ts.sp.close() }
