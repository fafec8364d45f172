package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
)

// ErrBadMap: a map holds what its role forbids: a document in a conflicts
// map, a conflict record in an index, a record filed under another key
// than its own, or a record replacing a record of another document.
var ErrBadMap = fmt.Errorf("transfer: %w: a map holds the wrong kind of entry", objects.ErrCorrupt)

// Admit decides which objects of a quarantine the refs about to name
// targets may make visible. It walks from each target (which must be a
// commit) down through what arrived, stopping at what the store already
// holds (checked when it came), and checks along the way what Receive
// cannot check object by object:
//
//   - each map with prolly's full checks: each child fits its parent
//     (level, key range, entry count) and each node is cut where the
//     chunking rule cuts it. A map cut differently would hash differently
//     from the same documents chunked here, and leaders that merged it
//     would stop converging;
//   - each key in a leaf that arrived passes objects.ValidateNewKey;
//   - each map's role: an index holds documents, a conflicts map holds
//     conflict records, each filed under its own key and replacing only
//     records of that key. A subtree the store holds keeps the role of its
//     first leaf.
//
// The result says which quarantined objects the walk reached: those, and
// only those, are promoted. Objects no target reaches never become
// visible, so nothing unchecked is left for a later update to name.
//
// The walk trusts what the store holds, and nothing writes that again: a
// view that pins (Pinner) pins the targets before the walk looks at the
// store, so that a collection that read the refs before the caller's ref
// update keeps what the walk finds there. Pinned after, a sweep could
// delete an object between the walk's look and the pin, which then finds
// the quarantine's copy, one the walk chose not to promote.
//
// got is what Receive said of the pack (nil: nothing arrived).
func Admit(ctx context.Context, view, store objects.ObjectReader, got *Received, targets ...objects.ID) (keep func(objects.ID) bool, err error) {
	if err := pin(ctx, view, targets); err != nil {
		return nil, err
	}
	a, err := newAdmitter(ctx, view, store, got)
	if err != nil {
		return nil, err
	}
	for _, id := range targets {
		if err := a.target(ctx, id, objects.TypeCommit); err != nil {
			return nil, err
		}
	}
	return a.keeps(), nil
}

// Pinner is a quarantine whose store collects garbage while transfers
// run (badgerstore's). Pin keeps what ids reach, through the quarantine
// and the store, from the collections that run until the quarantine is
// discarded: the stored objects a transfer builds on, which it does not
// write again. An error (wrapping objects.ErrNotFound) says a collection
// may have deleted some of them already: the transfer must fail, and be
// sent again whole.
type Pinner interface {
	Pin(ctx context.Context, ids ...objects.ID) error
}

// ErrCollectedHere: a pin failed: a garbage collection of the receiving
// repository deleted objects the transfer builds on. The sender is not at
// fault; the transfer, run again, sends them. It keeps the Pinner's error
// (objects.ErrNotFound) in its chain.
var ErrCollectedHere = errors.New("transfer: a garbage collection in this repository deleted objects the transfer builds on; run it again")

// pin pins targets if view pins.
func pin(ctx context.Context, view objects.ObjectReader, targets []objects.ID) error {
	p, ok := view.(Pinner)
	if !ok {
		return nil
	}
	if err := p.Pin(ctx, targets...); err != nil {
		return fmt.Errorf("%w: %w", ErrCollectedHere, err)
	}
	return nil
}

// ErrUnreached: a pack received straight into a new store (AdmitFresh)
// carried objects that no target reaches. Nothing would drop them, and
// later receives trust what is stored.
var ErrUnreached = fmt.Errorf("transfer: %w: the pack carried objects that no ref reaches", objects.ErrCorrupt)

// AdmitFresh is Admit for a pack that Receive put straight into a store
// that held nothing before it and that no one reads until the refs move
// (a clone, see remote.Clone): every object of it is checked as Admit
// checks what arrives, none trusted as stored, and every object that
// arrived must be reached from targets.
func AdmitFresh(ctx context.Context, store objects.ObjectReader, got *Received, targets ...objects.ID) error {
	a, err := newAdmitter(ctx, store, nothingStored{}, got)
	if err != nil {
		return err
	}
	for _, id := range targets {
		if err := a.target(ctx, id, objects.TypeCommit); err != nil {
			return err
		}
	}
	if got != nil && got.Objects != len(a.keep) {
		return fmt.Errorf("%w: %d objects arrived, %d reached", ErrUnreached, got.Objects, len(a.keep))
	}
	return nil
}

// nothingStored is the store before a fresh receive: it holds nothing.
type nothingStored struct{}

func (nothingStored) Get(_ context.Context, id objects.ID) ([]byte, error) {
	return nil, fmt.Errorf("transfer: %s: %w", id.Short(), objects.ErrNotFound)
}

func (nothingStored) Has(context.Context, objects.ID) (bool, error) { return false, nil }

// AdmitRefs is Admit for updates of refs of any kind, as the CLI of a
// served repository makes them: a working-set ref must name a working set
// (whose commits and maps are checked as a commit's), any other ref a
// commit. got must come from ReceiveStaged.
func AdmitRefs(ctx context.Context, view, store objects.ObjectReader, got *Received, updates ...objects.RefUpdate) (keep func(objects.ID) bool, err error) {
	targets := make([]objects.ID, 0, len(updates))
	for _, u := range updates {
		targets = append(targets, u.New)
	}
	if err := pin(ctx, view, targets); err != nil { // before the walk: see Admit
		return nil, err
	}
	a, err := newAdmitter(ctx, view, store, got)
	if err != nil {
		return nil, err
	}
	for _, u := range updates {
		want := objects.TypeCommit
		if strings.HasPrefix(u.Name, objects.WorkingSetPrefix) {
			want = objects.TypeWorkingSet
		}
		if err := a.target(ctx, u.New, want); err != nil {
			return nil, fmt.Errorf("%s: %w", u.Name, err)
		}
	}
	return a.keeps(), nil
}

func newAdmitter(ctx context.Context, view, store objects.ObjectReader, got *Received) (*admitter, error) {
	if got == nil {
		got = &Received{}
	}
	if got.reads != nil {
		view = got.reads.over(view)
	}
	a := &admitter{view: view, store: store, tree: prolly.New(readOnly{view}), chunked: got.chunked,
		keep: map[objects.ID]bool{}, done: map[objects.ID]bool{}, roles: map[objects.ID]role{}, records: map[objects.ID]string{}}
	got.KeepNodes(a.tree, nil) // decoded as they arrived: the walk reads them from there
	if _, fresh := store.(nothingStored); fresh || got.arrived == nil {
		return a, nil
	}
	if b, ok := store.(BatchReader); ok {
		return a, a.askStored(ctx, b, got.arrived)
	}
	a.fromPack, a.parents = got.arrived, got.parents
	return a, nil
}

func (a *admitter) keeps() func(objects.ID) bool {
	return func(id objects.ID) bool { return a.keep[id] }
}

// target checks what a ref is about to name, of type want.
func (a *admitter) target(ctx context.Context, id objects.ID, want objects.Type) error {
	if id.IsZero() {
		return nil
	}
	data, err := a.view.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("ref target %s: %w", id.Short(), err)
	}
	if t, err := objects.TypeOf(data); err != nil || t != want {
		return fmt.Errorf("%w: ref target %s is not a %s", ErrBadReference, id.Short(), want)
	}
	if want == objects.TypeCommit {
		return a.commits(ctx, id)
	}
	if old, err := a.stored(ctx, id); err != nil || old {
		return err
	}
	a.keep[id] = true
	ws, err := objects.DecodeWorkingSet(data)
	if err != nil {
		return err
	}
	for _, c := range []objects.ID{ws.Base, ws.MergeHead} {
		if !c.IsZero() {
			if err := a.commits(ctx, c); err != nil {
				return err
			}
		}
	}
	if err := a.walk(ctx, ws.Index, roleIndex); err != nil {
		return fmt.Errorf("working set %s: %w", id.Short(), err)
	}
	if err := a.walk(ctx, ws.Conflicts, roleConflicts); err != nil {
		return fmt.Errorf("working set %s: %w", id.Short(), err)
	}
	return nil
}

// role is what a map holds.
type role uint8

const (
	roleIndex role = iota + 1
	roleConflicts
)

func (r role) String() string {
	if r == roleConflicts {
		return "conflicts map"
	}
	return "index"
}

type admitter struct {
	view, store objects.ObjectReader
	tree        *prolly.Tree
	keep        map[objects.ID]bool   // quarantined objects reached
	done        map[objects.ID]bool   // commits seen
	roles       map[objects.ID]role   // map nodes seen
	records     map[objects.ID]string // conflict records seen, with their key
	chunked     map[objects.ID]bool   // chunked documents that arrived
	// arrived says, of each commit, node, record and working set that
	// arrived, whether the store held it already, when a store that
	// answers in batches was asked about them all at once (askStored).
	arrived map[objects.ID]bool
	// fromPack, for another store, lists what arrived: only those are
	// asked about (see stored).
	fromPack map[objects.ID]struct{}
	// parents, when set, are the maps of the stored parents of the
	// commits that arrived: the children they hold where a new node
	// holds them are not read again (parentMaps.fits).
	parents *parentMaps
}

// stored reports whether the store holds id already (and so checked it).
func (a *admitter) stored(ctx context.Context, id objects.ID) (bool, error) {
	// What Admit asks about is in the view (a target it read, a parent,
	// child or record Receive found in the pack or the store, or a node it
	// read): one that did not arrive is stored.
	if a.arrived != nil {
		old, ok := a.arrived[id]
		return old || !ok, nil
	}
	if a.fromPack != nil {
		if _, ok := a.fromPack[id]; !ok {
			return true, nil
		}
	}
	return a.store.Has(ctx, id)
}

func (a *admitter) commits(ctx context.Context, start objects.ID) error {
	stack := []objects.ID{start}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if a.done[id] {
			continue
		}
		a.done[id] = true
		old, err := a.stored(ctx, id)
		if err != nil {
			return err
		}
		if old {
			continue
		}
		a.keep[id] = true
		data, err := a.view.Get(ctx, id)
		if err != nil {
			return err
		}
		c, err := objects.DecodeCommit(data)
		if err != nil {
			return err
		}
		if err := a.walk(ctx, c.Index, roleIndex); err != nil {
			return fmt.Errorf("commit %s: %w", id.Short(), err)
		}
		if err := a.walk(ctx, c.Conflicts, roleConflicts); err != nil {
			return fmt.Errorf("commit %s: %w", id.Short(), err)
		}
		stack = append(stack, c.Parents...)
	}
	return nil
}

func (a *admitter) walk(ctx context.Context, root objects.ID, want role) error {
	var fits prolly.Fits
	if a.parents != nil {
		fits = func(parent *objects.Node, i int, lo string, lastOfLevel bool) bool {
			return a.parents.fits(ctx, want, parent, i, lo, lastOfLevel)
		}
	}
	return a.tree.WalkFitting(ctx, root, fits, func(id objects.ID, n *objects.Node) (bool, error) {
		if r, ok := a.roles[id]; ok {
			if r != want {
				return false, fmt.Errorf("%w: node %s is in an %s and a %s", ErrBadMap, id.Short(), r, want)
			}
			return false, nil
		}
		a.roles[id] = want
		old, err := a.stored(ctx, id)
		if err != nil {
			return false, err
		}
		if old {
			return false, a.storedRole(ctx, id, n, want)
		}
		a.keep[id] = true
		if n.Level > 0 {
			return true, nil
		}
		for _, it := range n.Items {
			// A peer cannot bring in a key no local write could make
			// (a .git or .folio segment); leaves already stored, from
			// before that rule, are not checked again.
			if err := objects.ValidateNewKey(it.Key); err != nil {
				return false, err
			}
			if err := a.entry(ctx, it.Key, it.Entry, want); err != nil {
				return false, err
			}
		}
		return false, nil
	})
}

// storedRole checks the role of a stored subtree by its first leaf.
func (a *admitter) storedRole(ctx context.Context, id objects.ID, n *objects.Node, want role) error {
	for n.Level > 0 {
		data, err := a.view.Get(ctx, n.Items[0].Entry.ID)
		if err != nil {
			return err
		}
		if n, err = objects.DecodeNode(data); err != nil {
			return err
		}
	}
	if conflict := n.Items[0].Entry.Kind == objects.KindConflict; conflict != (want == roleConflicts) {
		return fmt.Errorf("%w: the %s names subtree %s of the other kind of map", ErrBadMap, want, id.Short())
	}
	return nil
}

func (a *admitter) entry(ctx context.Context, key string, e objects.Entry, want role) error {
	if conflict := e.Kind == objects.KindConflict; conflict != (want == roleConflicts) {
		return fmt.Errorf("%w: the %s holds a %s entry at %q", ErrBadMap, want, e.Kind, key)
	}
	if want == roleConflicts {
		return a.record(ctx, key, e.ID)
	}
	return a.document(ctx, e.ID)
}

// record checks a conflict record filed under key, and the records it
// replaces.
func (a *admitter) record(ctx context.Context, key string, id objects.ID) error {
	if k, ok := a.records[id]; ok {
		if k != key {
			return fmt.Errorf("%w: conflict record %s is for %q, filed under %q", ErrBadMap, id.Short(), k, key)
		}
		return nil
	}
	data, err := a.view.Get(ctx, id)
	if err != nil {
		return err
	}
	rec, err := objects.DecodeConflict(data)
	if err != nil {
		return err
	}
	a.records[id] = rec.Key
	if rec.Key != key {
		return fmt.Errorf("%w: conflict record %s is for %q, filed under %q", ErrBadMap, id.Short(), rec.Key, key)
	}
	if old, err := a.stored(ctx, id); err != nil || old {
		return err
	}
	a.keep[id] = true
	for _, side := range []objects.Entry{rec.Base, rec.Ours, rec.Theirs} {
		if !side.ID.IsZero() {
			if err := a.document(ctx, side.ID); err != nil {
				return err
			}
		}
	}
	for _, r := range rec.Replaces {
		if err := a.record(ctx, key, r); err != nil {
			return err
		}
	}
	return nil
}

// document keeps a document and, if it arrived chunked, its chunks.
// Keeping an object that did not arrive does nothing, and one that
// arrived but was stored already is only written again, so documents need
// no look-up in the store (a clone reaches every document).
func (a *admitter) document(ctx context.Context, id objects.ID) error {
	if a.keep[id] {
		return nil
	}
	a.keep[id] = true
	if !a.chunked[id] {
		return nil
	}
	data, err := a.view.Get(ctx, id)
	if err != nil {
		return err
	}
	doc, err := objects.DecodeChunked(data)
	if err != nil {
		return err
	}
	for _, ch := range doc.Chunks {
		a.keep[ch.ID] = true
	}
	return nil
}

// readOnly lets a prolly.Tree read a quarantine; Admit never writes.
type readOnly struct{ objects.ObjectReader }

func (readOnly) Put(context.Context, ...objects.Object) error {
	return errors.New("transfer: admitting objects writes none")
}

// Commits reads commits from a quarantine (or any object reader), for
// the checks of a ref update before its objects are promoted.
func Commits(r objects.ObjectReader) merge.CommitReader { return commitReader{r} }

type commitReader struct{ objects.ObjectReader }

func (c commitReader) ReadCommit(ctx context.Context, id objects.ID) (*objects.Commit, error) {
	data, err := c.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return objects.DecodeCommit(data)
}
