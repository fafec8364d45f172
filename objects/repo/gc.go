package repo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
)

// DefaultGrace is how long gc keeps an object after it was last written or
// last reachable from a ref: git's two weeks.
const DefaultGrace = 14 * 24 * time.Hour

// ErrGCUnsupported: the store cannot delete objects (an in-memory test store).
var ErrGCUnsupported = errors.New("repo: this store cannot collect garbage")

// ErrGCDamaged: gc found a reachable object missing or unreadable, and
// deleted nothing.
var ErrGCDamaged = errors.New("repo: a reachable object is missing or damaged; gc deleted nothing (run 'folio fsck')")

// collector is a store that gc can sweep (badgerstore.Store).
type collector interface {
	BeginCollection(ctx context.Context, grace time.Duration, dryRun bool) (*badgerstore.Collection, error)
	EstimateObjects() int
	Reclaim(ctx context.Context, exclusive bool, liveBytes int64) error
}

// GCOptions say what a gc deletes.
type GCOptions struct {
	// Grace: objects last written, and last reachable, longer ago than
	// this may go. Zero: everything unreachable when the gc starts
	// (--prune=now); commands default to DefaultGrace.
	Grace  time.Duration
	DryRun bool
	// Exclusive says nothing else uses the store during the gc (the gc
	// command): the store may briefly refuse writes to reclaim space at
	// once. Without it (a server), space comes back as Badger compacts.
	Exclusive bool
	// Found, when set, sees each object deleted (or, dry, to be deleted).
	Found func(id objects.ID, size int64)
}

// GCReport is what a gc did.
type GCReport struct {
	DryRun        bool      `json:"dry_run"`
	Cutoff        time.Time `json:"cutoff"` // objects written before it may go (zero: none)
	ObjectsBefore int       `json:"objects_before"`
	BytesBefore   int64     `json:"bytes_before"`
	Marked        int       `json:"marked"` // reachable, or recent and what they reach
	Deleted       int       `json:"deleted"`
	DeletedBytes  int64     `json:"deleted_bytes"`
	ObjectsAfter  int       `json:"objects_after"`
	BytesAfter    int64     `json:"bytes_after"`
	DiskBefore    int64     `json:"disk_before"`
	DiskAfter     int64     `json:"disk_after"`
}

// GC deletes the objects nothing needs (see doc.go, Garbage collection):
// it marks everything reachable from every ref (branches, tags,
// remote-tracking branches, working sets and the conflict records they
// keep), from values refs held within the grace period, and from objects
// written within it; then it deletes the other objects written before
// the cutoff, and gives their space back.
func (r *Repo) GC(ctx context.Context, opts GCOptions) (*GCReport, error) {
	if !opts.DryRun {
		if err := r.checkWritable(); err != nil {
			return nil, err
		}
	}
	if m, ok := r.store.(Maintainer); ok {
		return m.GC(ctx, opts)
	}
	col, ok := r.store.(collector)
	if !ok {
		return nil, ErrGCUnsupported
	}
	rep := &GCReport{DryRun: opts.DryRun}
	var err error
	if rep.DiskBefore, err = DiskUsage(r.dir); err != nil {
		return nil, err
	}
	var derived []DerivedCommit
	if !opts.DryRun {
		// A merge that takes a remembered virtual base builds on objects
		// no ref reaches without writing them again: from now on, merges
		// make (and so write) their bases anew, and what they write is
		// younger than the cutoff; this gc keeps what those remembered
		// until now reach, for merges under way (none if exclusive).
		if !opts.Exclusive {
			derived = r.derived.Values()
		}
		r.derived.Forget()
	}
	c, err := col.BeginCollection(ctx, opts.Grace, opts.DryRun)
	if err != nil {
		return nil, err
	}
	defer c.End() // if it stops before its sweep
	rep.Cutoff = c.Cutoff
	m := &marker{r: r, col: c, set: newMarkSet(col.EstimateObjects())}
	if err := m.markRoots(ctx, c); err != nil {
		return nil, err
	}
	for _, d := range derived {
		m.push(d.Commit)
		if err := m.drain(ctx); err != nil { // not strict: one never stored is no damage
			return nil, err
		}
	}
	err = c.Objects(ctx, func(o badgerstore.ObjectInfo, read func() ([]byte, error)) error {
		rep.ObjectsBefore++
		rep.BytesBefore += o.Size
		return m.scan(ctx, o, read)
	})
	if err != nil {
		return nil, err
	}
	rep.Marked = m.set.Len()
	var found func(badgerstore.ObjectInfo)
	if opts.Found != nil {
		found = func(o badgerstore.ObjectInfo) { opts.Found(o.ID, o.Size) }
	}
	st, err := c.Sweep(ctx, m.set.Has, opts.DryRun, found)
	if !opts.DryRun {
		r.commits.Forget() // commits read before may be gone
		r.derived.Forget()
	}
	rep.Deleted, rep.DeletedBytes = st.Objects, st.Bytes
	rep.ObjectsAfter, rep.BytesAfter = rep.ObjectsBefore-st.Objects, rep.BytesBefore-st.Bytes
	if err != nil {
		return rep, err
	}
	if !opts.DryRun && st.Objects > 0 {
		if err := col.Reclaim(ctx, opts.Exclusive, rep.BytesAfter); err != nil {
			return rep, err
		}
	}
	rep.DiskAfter, err = DiskUsage(r.dir)
	return rep, err
}

// marker marks what is reachable. Documents are marked without being read
// (an index leaf says their kind and size) unless they may be chunked
// (larger than SingleBlobMax); the scan of every object catches a chunked
// document filed with a smaller size.
type marker struct {
	r   *Repo
	col *badgerstore.Collection
	set *markSet
	// Marked, not expanded yet: commits (and what else names other
	// objects) depth first, and index nodes, which drain expands after
	// the commits, in batches in ID order: the store's order, so the
	// nodes that share a block are read one after the other, and each
	// block is read and decompressed about once a batch instead of once a
	// node (they are most of what gc reads).
	stack, nodes []objects.ID
	// strict: a missing or damaged object is an error (while marking from
	// refs); roots that only protect (retired values, recent objects)
	// may reach objects already gone.
	strict bool
}

func (m *marker) markRoots(ctx context.Context, c *badgerstore.Collection) error {
	refs, err := m.r.store.Refs(ctx, "")
	if err != nil {
		return err
	}
	m.strict = true
	for _, ref := range refs {
		m.push(ref.ID)
		if err := m.drain(ctx); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrGCDamaged, ref.Name, err)
		}
	}
	m.strict = false
	return c.Retired(ctx, func(id objects.ID) error {
		m.push(id)
		return m.drain(ctx)
	})
}

// scan sees every stored object once: one written after the cutoff is a
// root; a marked chunked document marks its chunks.
func (m *marker) scan(ctx context.Context, o badgerstore.ObjectInfo, read func() ([]byte, error)) error {
	young := o.Young && m.set.Add(o.ID)
	if !young && (!m.set.Has(o.ID) || o.Size > SingleBlobMax) {
		return nil
	}
	data, err := read()
	if err != nil {
		return err
	}
	if t, _ := objects.TypeOf(data); !young && t != objects.TypeChunked {
		return nil
	}
	if err := m.expand(o.ID, data); err != nil {
		return nil // damaged: fsck's business, and nothing to mark
	}
	return m.drain(ctx)
}

func (m *marker) push(ids ...objects.ID) {
	for _, id := range ids {
		if m.set.Add(id) {
			m.stack = append(m.stack, id)
		}
	}
}

// pushNodes marks the roots or children of maps.
func (m *marker) pushNodes(ids ...objects.ID) {
	for _, id := range ids {
		if m.set.Add(id) {
			m.nodes = append(m.nodes, id)
		}
	}
}

// document marks a document version, or a conflict record, and reads it
// only if it may name other objects.
func (m *marker) document(e objects.Entry) {
	if e.Kind == objects.KindConflict || e.Size > SingleBlobMax {
		m.push(e.ID)
	} else {
		m.set.Add(e.ID)
	}
}

func (m *marker) drain(ctx context.Context) error {
	for len(m.stack) > 0 || len(m.nodes) > 0 {
		if len(m.stack) > 0 {
			id := m.stack[len(m.stack)-1]
			m.stack = m.stack[:len(m.stack)-1]
			if err := m.visit(ctx, id); err != nil {
				return err
			}
			continue
		}
		batch := m.nodes
		m.nodes = nil
		slices.SortFunc(batch, objects.ID.Compare)
		if err := m.col.ReadSorted(ctx, batch, m.expandRead); err != nil {
			m.stack, m.nodes = m.stack[:0], m.nodes[:0]
			return err
		}
	}
	return nil
}

// visit reads and expands one marked object.
func (m *marker) visit(ctx context.Context, id objects.ID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := m.r.store.Get(ctx, id)
	if err := m.expandRead(id, data, err); err != nil {
		m.stack, m.nodes = m.stack[:0], m.nodes[:0]
		return err
	}
	return nil
}

// expandRead expands an object read, or says why it could not be: a
// missing or damaged object is an error only while strict.
func (m *marker) expandRead(id objects.ID, data []byte, err error) error {
	if err == nil {
		err = m.expand(id, data)
	}
	switch {
	case err == nil:
		return nil
	case !m.strict && (errors.Is(err, objects.ErrNotFound) || errors.Is(err, objects.ErrCorrupt)):
		return nil
	}
	return fmt.Errorf("object %s: %w", id.Short(), err)
}

// expand marks what one object names.
func (m *marker) expand(id objects.ID, data []byte) error {
	v, err := objects.Decode(data)
	if err != nil {
		return err
	}
	switch o := v.(type) {
	case *objects.Commit:
		m.pushNodes(o.Index, o.Conflicts)
		m.push(o.Parents...)
	case *objects.WorkingSet:
		m.push(o.Base, o.MergeHead)
		m.pushNodes(o.Index, o.Conflicts)
	case *objects.Node:
		for _, it := range o.Items {
			if o.Level > 0 {
				m.pushNodes(it.Entry.ID)
			} else {
				m.document(it.Entry)
			}
		}
	case *objects.Conflict:
		for _, e := range []objects.Entry{o.Base, o.Ours, o.Theirs} {
			m.document(e)
		}
		m.push(o.Replaces...)
	case *objects.Chunked:
		for _, ch := range o.Chunks {
			m.set.Add(ch.ID)
		}
	}
	return nil
}

// maxAge is what --prune=never means: longer than any time mark is kept.
const maxAge = 100 * 365 * 24 * time.Hour

// ParseAge reads a --prune value: "now", "never", a Go duration ("36h"),
// a number of days or weeks ("14d", "2w"), or git's "2.weeks.ago". It
// returns the grace period: objects older than it may go.
func ParseAge(s string) (time.Duration, error) {
	switch s {
	case "now":
		return 0, nil
	case "never":
		return maxAge, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return min(d, maxAge), nil
	}
	num, unit := s, ""
	if n, u, ok := strings.Cut(strings.TrimSuffix(s, ".ago"), "."); ok {
		num, unit = n, strings.TrimSuffix(u, "s")
	} else if len(s) > 1 {
		num, unit = s[:len(s)-1], s[len(s)-1:]
	}
	units := map[string]time.Duration{"d": 24 * time.Hour, "day": 24 * time.Hour, "w": 7 * 24 * time.Hour,
		"week": 7 * 24 * time.Hour, "hour": time.Hour, "minute": time.Minute, "second": time.Second}
	n, err := strconv.Atoi(num)
	if u, ok := units[unit]; ok && err == nil && n >= 0 && n <= 100*365 {
		return min(time.Duration(n)*u, maxAge), nil
	}
	return 0, fmt.Errorf("age %q: want now, never, a duration (36h), days or weeks (14d, 2w) or 2.weeks.ago", s)
}
