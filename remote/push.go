package remote

import (
	"context"
	"errors"
	"fmt"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/transfer"
	"github.com/folio-db/folio/remote/wire"
)

// PushOptions say how to push.
type PushOptions struct {
	Options
	// Lease, when set, forces the push of each branch named in it, as long
	// as the remote branch is still at the given commit (zero: absent).
	Lease map[string]objects.ID
	// Delete removes the branches from the remote instead (as they are
	// there now: a deletion states the value it replaces), and their
	// remote-tracking refs here.
	Delete bool
}

// ErrFetchFirst: the remote branch has commits the local one lacks.
var ErrFetchFirst = errors.New("remote: the remote branch has commits you do not have (fetch and merge first, or sync)")

// Push sends local branches (full ref names) to a remote: the refs listing,
// then one request with the pack and the updates, which the remote applies
// all or none. Without a lease, only fast-forwards are pushed.
func Push(ctx context.Context, r *repo.Repo, rm Remote, branches []string, opts PushOptions) (*Report, error) {
	rep := &Report{Remote: rm.Name, Updated: []RefChange{}}
	c, err := newClient(rm, opts.Options)
	if err != nil {
		return rep, err
	}
	defer rep.addClientStats(c)
	listing, err := c.Refs(ctx)
	if err != nil {
		return rep, err
	}
	remoteRefs := map[string]objects.ID{}
	for _, ref := range listing.Refs {
		remoteRefs[ref.Name] = ref.ID
	}
	var updates []wire.RefUpdate
	force := false
	for _, b := range branches {
		if opts.Delete {
			old, ok := remoteRefs[b]
			if !ok {
				return rep, fmt.Errorf("%w: %s is not on %s", objects.ErrNotFound, b, rm.Name)
			}
			updates = append(updates, wire.RefUpdate{Name: b, Old: old})
			force = true
			continue
		}
		local, err := r.Store().Ref(ctx, b)
		if err != nil {
			return rep, fmt.Errorf("branch %s: %w", b, err)
		}
		old := remoteRefs[b]
		if lease, ok := opts.Lease[b]; ok {
			if lease != old {
				return rep, fmt.Errorf("%w: %s is at %s on %s, not at the %s you expected to replace",
					objects.ErrRefChanged, b, describe(old), rm.Name, describe(lease))
			}
			force = true
		} else if !old.IsZero() && old != local {
			ok, err := containsCommit(ctx, r, old, local)
			if err != nil {
				return rep, err
			}
			if !ok {
				return rep, fmt.Errorf("%w: %s on %s", ErrFetchFirst, b, rm.Name)
			}
		}
		if old != local {
			updates = append(updates, wire.RefUpdate{Name: b, Old: old, New: local})
		}
	}
	if len(updates) == 0 {
		// Nothing to send, but the remote-tracking refs may lag (a push
		// whose reply was lost): bring them to what the remote holds.
		return rep, refreshTracking(ctx, r, rm.Name, branches, remoteRefs)
	}
	if err := pushUpdates(ctx, r, c, rm.Name, wire.PushRequest{Updates: updates, Force: force}, refIDs(listing.Refs), rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// refreshTracking moves the remote-tracking refs of branches to the values
// the remote reported.
func refreshTracking(ctx context.Context, r *repo.Repo, remote string, branches []string, remoteRefs map[string]objects.ID) error {
	var updates []objects.RefUpdate
	for _, b := range branches {
		name := TrackingRef(remote, b)
		cur, err := r.RefOrZero(ctx, name)
		if err != nil {
			return err
		}
		if want := remoteRefs[b]; cur != want {
			updates = append(updates, objects.RefUpdate{Name: name, Old: cur, New: want})
		}
	}
	err := r.Store().UpdateRefs(ctx, updates...)
	if errors.Is(err, objects.ErrRefChanged) {
		return nil // a concurrent fetch moved them; it knows better
	}
	return err
}

// pushUpdates sends the pack of the updates' commits that the remote lacks
// and, once the remote took them, moves the remote-tracking refs. What the
// remote has (have) is what it just advertised or said it holds, never
// what our remote-tracking refs remember: the remote may have been
// replaced since.
func pushUpdates(ctx context.Context, r *repo.Repo, c *client.Client, remote string, req wire.PushRequest, have []objects.ID, rep *Report) error {
	wants := pushWants(req.Updates)
	resp, err := c.Push(ctx, req, func(pw *wire.PackWriter) error {
		stats, err := transfer.SendWithNodes(ctx, r.Store(), r.Tree(), pw, wants, have)
		rep.ObjectsSent = stats.Objects
		return err
	})
	if err != nil {
		return err
	}
	var tracking []objects.RefUpdate
	for i, u := range req.Updates {
		if !isBranch(u.Name) {
			continue
		}
		// A converging push the remote merged (req.Converge) moved it to a
		// merge not here yet: the next fetch brings it, and its tracking ref.
		if i < len(resp.Updated) && resp.Updated[i].Name == u.Name && resp.Updated[i].New != u.New {
			rep.Updated = append(rep.Updated, RefChange{Name: u.Name, Old: resp.Updated[i].Old, New: resp.Updated[i].New})
			continue
		}
		name := TrackingRef(remote, u.Name)
		cur, err := r.RefOrZero(ctx, name)
		if err != nil {
			return err
		}
		if cur != u.New {
			tracking = append(tracking, objects.RefUpdate{Name: name, Old: cur, New: u.New})
		}
		rep.Updated = append(rep.Updated, RefChange{Name: u.Name, Old: u.Old, New: u.New})
	}
	// The push is done; a tracking ref moved meanwhile by a concurrent
	// fetch is refreshed by the next one.
	if err := r.Store().UpdateRefs(ctx, tracking...); err != nil && !errors.Is(err, objects.ErrRefChanged) {
		return err
	}
	return nil
}

// pushWants are the commits updates move refs to.
func pushWants(updates []wire.RefUpdate) []objects.ID {
	var wants []objects.ID
	for _, u := range updates {
		if !u.New.IsZero() {
			wants = append(wants, u.New)
		}
	}
	return wants
}

func refIDs(refs []objects.Ref) []objects.ID {
	ids := make([]objects.ID, len(refs))
	for i, ref := range refs {
		ids[i] = ref.ID
	}
	return ids
}

// heldByRemote asks the remote which of the commits a push would send
// it (those wants reach and have does not) it holds already. A peer of
// leaders peered all-to-all takes their pushes all the time: what it got
// from the others between a sync's fetch and its push was most of the
// push's duplicates, about half of what pushes sent in BenchmarkPeerMesh.
// A push of fewer than minHeldAsk commits sends them without asking (a
// round trip costs more), and a remote that cannot say (a server without
// wire.PathHas) is sent everything, as before. It asks about the newest
// commits (a held one spares all it reaches), one question's worth.
func heldByRemote(ctx context.Context, r *repo.Repo, c *client.Client, wants, have []objects.ID) []objects.ID {
	missing, err := transfer.NewestMissingCommits(ctx, r.Store(), wants, have, heldAskLimit)
	if err != nil || len(missing) < minHeldAsk {
		return nil
	}
	held, err := c.Held(ctx, missing)
	if err != nil {
		return nil
	}
	return held
}

const minHeldAsk = 8

// heldAskLimit is how many commits a push asks about at most: one
// question's worth (a variable for tests).
var heldAskLimit = wire.MaxObjectsRequest

func isBranch(name string) bool {
	return len(name) > len(objects.BranchPrefix) && name[:len(objects.BranchPrefix)] == objects.BranchPrefix
}

// containsCommit reports whether local already contains commit old (which
// may not even be stored here).
func containsCommit(ctx context.Context, r *repo.Repo, old, local objects.ID) (bool, error) {
	if ok, err := r.Store().Has(ctx, old); err != nil || !ok {
		return false, err
	}
	return merge.IsAncestor(ctx, r, old, local)
}

func describe(id objects.ID) string {
	if id.IsZero() {
		return "nothing"
	}
	return id.Short()
}
