package wire

import (
	"encoding/json"
	"time"

	"github.com/folio-db/folio/objects"
)

// The store API: what the CLI of a served repository uses instead of the
// store the server holds (objects.Store over HTTP, remote/client.Store),
// and the store-wide work the server runs on its own copy. Only a local
// administrator may use it: serve.json's token, or, on a server without
// tokens, a request from the server's own machine.
const (
	PathStoreRef     = "v1/store/ref"     // GET ?name=REF: StoreRef (not_found: no such ref)
	PathStoreRefs    = "v1/store/refs"    // GET ?prefix=P: []objects.Ref, every kind of ref
	PathStoreObject  = "v1/store/object"  // GET /ID: the object's bytes
	PathStoreHas     = "v1/store/has"     // POST StoreIDs: StoreHas
	PathStoreTypes   = "v1/store/types"   // POST StoreIDs: StoreTypes
	PathStoreObjects = "v1/store/objects" // GET ?prefix=HEX: a pack of every stored object
	// PathStoreSend makes the pack a push sends: POST StoreSend, answered
	// by a pack of the objects reachable from the wants and not from the
	// haves, as transfer.Send writes it.
	PathStoreSend = "v1/store/send"
	// PathStoreApply stores objects and moves refs: POST a framed
	// StoreApply, then a pack; answered by StoreApplied. The pack is
	// received, checked and admitted as a push's is (working sets
	// allowed), and the refs move by compare-and-swap.
	PathStoreApply = "v1/store/apply"
	PathStoreGC    = "v1/store/gc"    // POST StoreGC: JSON lines of StoreGCLine
	PathStoreFsck  = "v1/store/fsck"  // POST: repo.FsckReport
	PathStoreStats = "v1/store/stats" // GET: repo.Stats

	// PathStoreCheckedRefs lists the refs as PathStoreRefs does, which
	// fails on a damaged one, and the damaged ones apart: GET ?prefix=P,
	// answered by StoreCheckedRefs.
	PathStoreCheckedRefs = "v1/store/checked-refs"
	// PathStoreDropDamagedRef deletes a ref whose stored value fails its
	// check, and only such a ref: POST StoreDropDamagedRef, answered by
	// the StoreDamagedRef it was (ref_not_damaged: the ref passes its
	// check; not_found: there is no such ref; either changed nothing).
	PathStoreDropDamagedRef = "v1/store/drop-damaged-ref"
)

// StoreRef is one ref's value.
type StoreRef struct {
	ID objects.ID `json:"id"`
}

// StoreCheckedRefs lists the refs whose stored values pass their checks,
// and the damaged ones apart.
type StoreCheckedRefs struct {
	Refs    []objects.Ref     `json:"refs"`
	Damaged []StoreDamagedRef `json:"damaged"`
}

// StoreDamagedRef is an objects.DamagedRef with its name as stored: in
// bytes, since a name damaged on disk need not be UTF-8, which a JSON
// string would not carry unchanged (and the name is how it is dropped).
type StoreDamagedRef struct {
	Name []byte     `json:"name"`
	Why  string     `json:"why"`
	ID   objects.ID `json:"unverified_id,omitzero"`
}

// DamagedRefOf is d as sent.
func DamagedRefOf(d objects.DamagedRef) StoreDamagedRef {
	return StoreDamagedRef{Name: []byte(d.Name), Why: d.Why, ID: d.ID}
}

// DamagedRef is the objects.DamagedRef d carries.
func (d StoreDamagedRef) DamagedRef() objects.DamagedRef {
	return objects.DamagedRef{Name: string(d.Name), Why: d.Why, ID: d.ID}
}

// StoreDropDamagedRef names the damaged ref to delete, as stored.
type StoreDropDamagedRef struct {
	Name []byte `json:"name"`
}

// StoreIDs names objects.
type StoreIDs struct {
	IDs []objects.ID `json:"ids"`
}

// StoreHas says, for each ID asked, whether the store holds it.
type StoreHas struct {
	Has []bool `json:"has"`
}

// StoreTypes says, for each ID asked, the type of the object the store
// holds, or 0 where it holds none.
type StoreTypes struct {
	Types []objects.Type `json:"types"`
}

// StoreSend asks for the pack of what the wants reach and the haves do
// not (haves the store lacks are ignored).
type StoreSend struct {
	Wants []objects.ID `json:"wants"`
	Haves []objects.ID `json:"haves"`
}

// StoreApply moves refs, all or none, once the pack that follows is stored.
type StoreApply struct {
	Updates []RefUpdate `json:"updates"`
}

// StoreApplied reports an apply that stored its objects and moved its refs.
type StoreApplied struct {
	Objects int `json:"objects"`
}

// StoreGC asks the server to collect its repository's garbage.
type StoreGC struct {
	Grace  time.Duration `json:"grace_ns"`
	DryRun bool          `json:"dry_run"`
	Found  bool          `json:"found"` // list what goes, as Found lines
}

// StoreGCLine is one line of a gc's reply: an object found, the report
// (last), or the error that stopped it (last).
type StoreGCLine struct {
	Found  *StoreFound     `json:"found,omitempty"`
	Report json.RawMessage `json:"report,omitempty"` // a repo.GCReport
	Error  *Error          `json:"error,omitempty"`
}

// StoreFound is an object a gc deletes (or, dry, would).
type StoreFound struct {
	ID   objects.ID `json:"id"`
	Size int64      `json:"size"`
}
