package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/transfer"
	"github.com/folio-db/folio/remote/wire"
)

// Options are shared by the operations.
type Options struct {
	// HTTP replaces the default HTTP client (TLS settings, tests).
	HTTP *http.Client
	// Limits bound what a fetch accepts.
	Limits wire.Limits
	// Progress, when set, is told of the bytes moved as they move.
	Progress func(n int64)
	// Timeouts bound the waits for a remote (zero: client.DefaultTimeouts).
	Timeouts client.Timeouts
	// AllowUnrelated lets sync and pull merge a branch with a remote
	// branch that shares no commit with it (ErrUnrelatedHistories).
	AllowUnrelated bool
	// Writable, when set, tells Fetch that the repository is open
	// read-only, and how to have it writable: Fetch calls it only once
	// the remote sends an object or a ref must move, and goes on with the
	// repository it returns (which the caller closes). A fetch that finds
	// nothing new then writes nothing: a writable open and close of the
	// store cost more than the rest of such a fetch.
	Writable func(context.Context) (*repo.Repo, error)
}

// RefChange is a ref an operation moved.
type RefChange struct {
	Name string     `json:"name"`
	Old  objects.ID `json:"old"`
	New  objects.ID `json:"new"`
}

// Report is what an operation did, for people and for CI logs.
type Report struct {
	Remote          string      `json:"remote"`
	Requests        int64       `json:"requests"`
	BytesSent       int64       `json:"bytes_sent"`
	BytesReceived   int64       `json:"bytes_received"`
	ObjectsSent     int         `json:"objects_sent"`
	ObjectsReceived int         `json:"objects_received"`
	Updated         []RefChange `json:"refs_updated"`
}

func (rep *Report) addClientStats(c *client.Client) {
	st := c.Stats()
	rep.Requests += st.Requests.Load()
	rep.BytesSent += st.BytesSent.Load()
	rep.BytesReceived += st.BytesReceived.Load()
}

func newClient(rm Remote, opts Options) (*client.Client, error) {
	token, err := TokenFor(rm)
	if err != nil {
		return nil, err
	}
	return client.New(rm.URL, client.Options{Token: token, HTTP: opts.HTTP, OnBytes: opts.Progress, Timeouts: opts.Timeouts})
}

// haves lists the commits a repository can tell a sender it has: the tips
// of its branches, tags and remote-tracking refs, then recent commits
// below the branches the remote may not have (recentHaves) unless it reads
// its objects from a server.
func haves(ctx context.Context, r *repo.Repo, remote string) ([]objects.ID, error) {
	var out, branches []objects.ID
	seen := map[objects.ID]bool{}
	known := map[objects.ID]bool{} // the remote's tips as last seen: it has all below them
	for _, p := range []string{objects.BranchPrefix, objects.TagPrefix, objects.RemotePrefix} {
		refs, err := r.Store().Refs(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, ref := range refs {
			if p == objects.BranchPrefix {
				branches = append(branches, ref.ID)
			}
			if strings.HasPrefix(ref.Name, objects.RemotePrefix+remote+"/") {
				known[ref.ID] = true
			}
			if !seen[ref.ID] {
				seen[ref.ID] = true
				out = append(out, ref.ID)
			}
		}
	}
	if _, served := r.Store().(transfer.PackSender); served {
		return out, nil // each commit read would be a request to its server
	}
	recent, err := recentHaves(ctx, r, branches, seen, known)
	return append(out, recent...), err
}

const (
	// denseHaves are the commits just below the tips sent one by one;
	// below them, one in each doubling of the distance, up to maxHaveWalk
	// commits down.
	denseHaves  = 48
	maxHaveWalk = 256
)

// recentHaves are the commits just below tips, highest first: all of
// the first denseHaves, then the 64th, 128th... Between peered leaders
// that keep taking writes, a tip here is most often one the sender does
// not have yet (a write made since the last sync), and a sender ignores
// the haves it lacks: with tips alone it sent again everything it had
// from here since the last sync (four objects in five a fetch received
// in the mesh benchmark were here already). A recent commit it has stops
// its walk there. The walk goes no further down than the commits known
// to be the remote's (its tracking refs): it has everything below them,
// so a fetch that made nothing here since reads no commit for its haves.
func recentHaves(ctx context.Context, r *repo.Repo, tips []objects.ID, skip, known map[objects.ID]bool) ([]objects.ID, error) {
	w := objects.NewFrontier(r.ReadCommit, 0)
	for _, id := range tips {
		if known[id] {
			continue
		}
		if err := w.Add(ctx, id, 0); err != nil {
			return nil, err
		}
	}
	var out []objects.ID
	for n := 1; w.Len() > 0 && n <= maxHaveWalk; n++ {
		id, c, _ := w.Pop()
		if !skip[id] && (n <= denseHaves || n&(n-1) == 0) {
			out = append(out, id)
		}
		for _, p := range c.Parents {
			if known[p] {
				continue
			}
			if err := w.Add(ctx, p, 0); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// fetched is what a fetch learnt: the remote's refs.
type fetched struct {
	head     string
	branches map[string]objects.ID // full branch ref name -> commit
	// seen is what the remote-tracking refs held before this fetch moved
	// them (full branch ref name -> commit): the remote's branches as this
	// repository last saw them.
	seen map[string]objects.ID
	// made are the branches the fetch made here (full ref names).
	made map[string]bool
}

// Fetch brings the objects of a remote's branches and tags that the
// repository lacks, in one request, then moves the remote-tracking refs
// (refs/remotes/NAME/...) to the remote's branches, creates tags it lacks,
// and drops tracking refs of branches the remote no longer has. In the
// same step it makes here each branch of the remote's that is not here,
// unless the remote still holds it where its tracking ref said: that one
// was deleted here, and stays deleted (see leftAlone).
func Fetch(ctx context.Context, r *repo.Repo, rm Remote, opts Options) (*Report, error) {
	rep, _, err := fetch(ctx, r, rm, opts, false)
	return rep, err
}

// fetch is Fetch. For a clone, r is new and not yet where anyone looks
// (Clone): the pack goes straight into its store, and every object must
// pass Admit (see transfer.AdmitFresh); and fetch makes no branches,
// since Clone makes them itself. With opts.Writable set, r is open
// read-only until the remote sends an object or a ref must move.
func fetch(ctx context.Context, r *repo.Repo, rm Remote, opts Options, clone bool) (*Report, *fetched, error) {
	rep := &Report{Remote: rm.Name, Updated: []RefChange{}}
	c, err := newClient(rm, opts)
	if err != nil {
		return rep, nil, err
	}
	defer rep.addClientStats(c)
	have, err := haves(ctx, r, rm.Name)
	if err != nil {
		return rep, nil, err
	}
	got := &fetched{branches: map[string]objects.ID{}}
	var tags []objects.Ref
	in := &intake{clone: clone}
	defer in.discard()
	var received *transfer.Received
	unchanged := false
	err = c.Fetch(ctx, wire.FetchRequest{Haves: have}, opts.Limits, func(head *wire.FetchResponse, pr *wire.PackReader) error {
		got.head = head.Head
		for _, ref := range head.Refs {
			switch {
			case strings.HasPrefix(ref.Name, objects.BranchPrefix):
				got.branches[ref.Name] = ref.ID
			case strings.HasPrefix(ref.Name, objects.TagPrefix):
				tags = append(tags, ref)
			}
		}
		var pack transfer.PackReader = pr
		if opts.Writable != nil && !clone {
			first, err := pr.Next()
			switch {
			case errors.Is(err, io.EOF):
				if unchanged, err = nothingToMove(ctx, r, rm.Name, got, tags); err != nil || unchanged {
					return err
				}
			case err != nil:
				return err
			default:
				pack = &peeked{first: &first, rest: pr}
			}
			if r, err = opts.Writable(ctx); err != nil {
				return err
			}
		}
		into, err := in.open(ctx, r)
		if err != nil {
			return err
		}
		received, err = transfer.Receive(ctx, into, pack)
		rep.ObjectsReceived = received.Objects
		return err
	})
	if err == nil && in.load != nil {
		err = in.load.Finish(ctx)
	}
	if err != nil {
		return rep, nil, err
	}
	if unchanged {
		return rep, got, nil
	}
	// The refs are only names until checked: each must be a commit, and
	// what it reaches must pass every check.
	var targets []objects.ID
	for _, id := range got.branches {
		targets = append(targets, id)
	}
	for _, t := range tags {
		targets = append(targets, t.ID)
	}
	var keep func(objects.ID) bool
	if clone {
		err = transfer.AdmitFresh(ctx, r.Store(), received, targets...)
	} else {
		keep, err = transfer.Admit(ctx, in.qr, r.Store(), received, targets...)
	}
	switch {
	case errors.Is(err, transfer.ErrCollectedHere): // not the remote's fault
		return rep, nil, fmt.Errorf("fetch from %s: %w", rm.Name, err)
	case err != nil:
		return rep, nil, fmt.Errorf("%s sent what this repository refuses: %w", rm.Name, err)
	}
	updates, err := trackingUpdates(ctx, r, rm.Name, got, tags)
	if err != nil {
		return rep, nil, err
	}
	if !clone {
		made, err := branchesToMake(ctx, r, got)
		if err != nil {
			return rep, nil, err
		}
		updates = append(updates, made...)
		if err = in.qr.Promote(ctx, keep, updates...); err == nil {
			received.KeepNodes(r.Tree(), keep)
		}
	} else {
		err = r.Store().UpdateRefs(ctx, updates...)
	}
	if err != nil {
		return rep, nil, err
	}
	for _, u := range updates {
		rep.Updated = append(rep.Updated, RefChange{Name: u.Name, Old: u.Old, New: u.New})
	}
	return rep, got, nil
}

// intake is where a fetch puts what arrives. A fetch's pack waits in a
// quarantine until the refs it came for move; a clone's has nothing to
// hide from, and no need to be written twice: it goes into the new store
// as sorted tables, where the store can.
type intake struct {
	clone bool
	qr    objects.Quarantine
	load  objects.BulkLoad
}

func (in *intake) open(ctx context.Context, r *repo.Repo) (transfer.Store, error) {
	var err error
	if !in.clone {
		in.qr, err = r.Store().Quarantine(ctx)
		return in.qr, err
	}
	if bl, ok := r.Store().(objects.BulkLoader); ok {
		in.load, err = bl.BulkLoad(ctx)
		return in.load, err
	}
	return r.Store(), nil
}

func (in *intake) discard() {
	if in.qr != nil {
		in.qr.Discard()
	}
	if in.load != nil {
		in.load.Discard()
	}
}

// nothingToMove reports whether a fetch that received no object would
// move no ref: then it has nothing to write. The refs are read again
// once the repository is writable, if it must be.
func nothingToMove(ctx context.Context, r *repo.Repo, remote string, got *fetched, tags []objects.Ref) (bool, error) {
	updates, err := trackingUpdates(ctx, r, remote, got, tags)
	if err != nil || len(updates) > 0 {
		return false, err
	}
	made, err := branchesToMake(ctx, r, got)
	return len(made) == 0, err
}

// peeked is a pack whose first object was read already.
type peeked struct {
	first *objects.Object
	rest  transfer.PackReader
}

func (p *peeked) Next() (objects.Object, error) {
	if p.first != nil {
		o := *p.first
		p.first = nil
		return o, nil
	}
	return p.rest.Next()
}

// branchesToMake makes here the remote's branches that are not here,
// but those the remote holds where their tracking ref said (deleted here),
// and records them in got.made.
func branchesToMake(ctx context.Context, r *repo.Repo, got *fetched) ([]objects.RefUpdate, error) {
	var out []objects.RefUpdate
	got.made = map[string]bool{}
	for name, id := range got.branches {
		if seen, ok := got.seen[name]; ok && seen == id {
			continue
		}
		local, err := r.RefOrZero(ctx, name)
		if err != nil {
			return nil, err
		}
		if local.IsZero() {
			out = append(out, objects.RefUpdate{Name: name, New: id})
			got.made[name] = true
		}
	}
	return out, nil
}

// trackingUpdates computes the ref moves a fetch makes, and records in
// got.seen what the remote-tracking refs held before.
func trackingUpdates(ctx context.Context, r *repo.Repo, remote string, got *fetched, tags []objects.Ref) ([]objects.RefUpdate, error) {
	current, err := r.Store().Refs(ctx, trackingPrefix(remote))
	if err != nil {
		return nil, err
	}
	old := map[string]objects.ID{}
	got.seen = map[string]objects.ID{}
	for _, ref := range current {
		old[ref.Name] = ref.ID
		got.seen[objects.BranchPrefix+strings.TrimPrefix(ref.Name, trackingPrefix(remote))] = ref.ID
	}
	var updates []objects.RefUpdate
	for name, id := range got.branches {
		tracking := TrackingRef(remote, name)
		if old[tracking] != id {
			updates = append(updates, objects.RefUpdate{Name: tracking, Old: old[tracking], New: id})
		}
		delete(old, tracking)
	}
	for name, id := range old { // gone from the remote
		updates = append(updates, objects.RefUpdate{Name: name, Old: id})
	}
	for _, t := range tags {
		_, err := r.Store().Ref(ctx, t.Name)
		switch {
		case errors.Is(err, objects.ErrNotFound):
			updates = append(updates, objects.RefUpdate{Name: t.Name, New: t.ID}) // only tags we lack
		case err != nil:
			return nil, err
		}
	}
	return updates, nil
}
