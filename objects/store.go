package objects

import (
	"context"
	"errors"
	"fmt"
)

// Ref is a named pointer to an object: a branch, tag, remote-tracking
// branch or working set.
type Ref struct {
	Name string `json:"name"`
	ID   ID     `json:"id"`
}

// DamagedRef is a ref whose stored value fails its check: its name or its
// value was damaged on disk.
type DamagedRef struct {
	Name string `json:"name"`
	// Why says how the value fails its check ("it does not match its
	// check: ...").
	Why string `json:"why"`
	// ID is what the value holds where the ID goes, when it holds that
	// many bytes: unverified, since the check that would vouch for it
	// failed (zero: the value is shorter than an ID).
	ID ID `json:"unverified_id,omitzero"`
}

// Err is the error a read of the ref fails with.
func (d DamagedRef) Err() error {
	return fmt.Errorf("%w %s: %s", ErrRefDamaged, d.Name, d.Why)
}

// RefUpdate is one compare-and-swap of a ref: it moves Name from Old to New.
// A zero Old means the ref must not exist yet; a zero New deletes it.
type RefUpdate struct {
	Name string
	Old  ID
	New  ID
}

// ObjectReader reads objects by ID.
type ObjectReader interface {
	// Get returns the encoded object, or an error wrapping ErrNotFound.
	// The bytes returned always hash to id: a store checks them with
	// CheckStored, and a stored copy that does not match is an error
	// wrapping ErrDamaged. The caller owns the returned bytes.
	Get(ctx context.Context, id ID) ([]byte, error)
	// Has reports whether the object is stored.
	Has(ctx context.Context, id ID) (bool, error)
}

// ObjectWriter stores objects.
type ObjectWriter interface {
	// Put stores encoded objects; each Data must hash to its ID (callers
	// that got the bytes from outside check that with Verify first).
	// Storing an object twice is harmless. Put need not be durable on its
	// own: UpdateRefs makes every object put before it durable first.
	Put(ctx context.Context, objs ...Object) error
}

// ObjectWalker visits every stored object.
type ObjectWalker interface {
	// Objects calls fn for each object whose ID starts with prefix, in ID
	// order. data is only valid during the call, and is as stored,
	// unchecked (fsck walks to find damage): a caller that hands it on
	// checks it with CheckStored first.
	Objects(ctx context.Context, prefix []byte, fn func(id ID, data []byte) error) error
}

// RefReader reads refs.
type RefReader interface {
	// Ref returns the ID a ref points at, or an error wrapping ErrNotFound.
	Ref(ctx context.Context, name string) (ID, error)
	// Refs lists the refs whose names start with prefix, sorted by name.
	Refs(ctx context.Context, prefix string) ([]Ref, error)
}

// RefUpdater moves refs.
type RefUpdater interface {
	// UpdateRefs applies all updates or none: if any ref is not at its Old
	// value it returns an error wrapping ErrRefChanged and changes nothing.
	// Objects put before the call are durable before any ref moves, and
	// the refs are durable when it returns.
	UpdateRefs(ctx context.Context, updates ...RefUpdate) error
}

// Store is everything one leader keeps: objects and refs, in one place so
// that a commit (objects, then refs) is atomic.
type Store interface {
	ObjectReader
	ObjectWriter
	ObjectWalker
	RefReader
	RefUpdater
	Quarantiner
	Close() error
}

// Quarantine holds objects that arrived from another leader until the ref
// update they arrived for succeeds (as Git's receive quarantine does).
// Readers of the store and other quarantines never see them; Get and Has
// of the quarantine see its own objects and the store's.
type Quarantine interface {
	ObjectReader
	// Put stores objects in the quarantine, in arrival order.
	Put(ctx context.Context, objs ...Object) error
	// Promote checks every update's Old value, then moves the quarantined
	// objects that keep accepts into the store, in the order they were
	// put, and applies the updates. Where the store can, the objects and
	// the refs move in one transaction; where they are too many for one,
	// earlier batches move first, each closed under what it references
	// since the order is the pack's dependency order. A ref that moved
	// meanwhile is ErrRefChanged and nothing is promoted. The quarantine
	// is spent afterwards either way.
	Promote(ctx context.Context, keep func(ID) bool, updates ...RefUpdate) error
	// Discard drops what is left in the quarantine. It is safe to call
	// more than once and after Promote. Callers call it after Promote
	// too, once their refs moved: it releases what the transfer pinned
	// (badgerstore keeps pinned objects from its collections until then).
	Discard() error
}

// BulkLoad fills a store that holds no objects yet, as a clone does:
// objects put in any order become visible together when Finish returns,
// written as the store likes them best (sorted, with no log or memtable
// on the way). Get and Has see only what the store held before and, once
// Finish returns, what was loaded. A load that fails or is discarded
// leaves objects of unknown completeness: its caller throws the store
// away (a clone's staging folder), so it serves only new stores.
type BulkLoad interface {
	ObjectReader
	// Put adds objects to the load; the caller may reuse their bytes once
	// it returns.
	Put(ctx context.Context, objs ...Object) error
	// Finish writes what is left and makes every object loaded visible.
	Finish(ctx context.Context) error
	// Discard stops the load. It is safe to call more than once and after
	// Finish.
	Discard() error
}

// BulkLoader starts bulk loads. A Store that can write objects faster
// when it has none implements it.
type BulkLoader interface {
	BulkLoad(ctx context.Context) (BulkLoad, error)
}

// LeafLoader starts leaf loads: a BulkLoad of objects that reference
// nothing (blobs) into a new store, as a first import is. Unlike a
// BulkLoad's, a leaf load cut short (a crash, an error, Discard) leaves a
// store that works: it holds some of the load's objects, each whole, and
// as they reference nothing, the references of every stored object are
// still stored; what no ref reaches is garbage for gc. Until Finish or
// Discard returns, nothing else may use the store.
type LeafLoader interface {
	// LeafLoad starts a load of objects of at most maxSize bytes each, or
	// fails with ErrNoLeafLoad when the store is not new.
	LeafLoad(ctx context.Context) (load BulkLoad, maxSize int, err error)
}

// ErrNoLeafLoad: the store cannot take a leaf load (it is not new); the
// caller puts its objects.
var ErrNoLeafLoad = errors.New("objects: no leaf load into this store")

// Quarantiner opens quarantines. A Store that takes objects from other
// leaders implements it.
type Quarantiner interface {
	Quarantine(ctx context.Context) (Quarantine, error)
}
