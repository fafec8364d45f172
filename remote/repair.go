package remote

import (
	"context"
	"fmt"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/transfer"
	"github.com/folio-db/folio/remote/wire"
)

// RepairReport is what Repair did.
type RepairReport struct {
	// Repaired lists the objects fetched again, by remote name.
	Repaired map[string][]objects.ID `json:"repaired"`
	// Errors are the remotes that failed, with why; the others were used.
	Errors map[string]string `json:"errors,omitempty"`
	// Fsck is the check after the repair: clean when everything was found.
	Fsck *repo.FsckReport `json:"fsck"`
}

// Repair makes a damaged repository whole from other leaders: it runs
// fsck, asks the remotes in turn for every damaged or missing object by ID
// (POST /v1/objects), stores each one that arrives intact (it hashes to
// its ID and decodes) over the damaged copy, and checks again, until fsck
// is clean or no remote has what is left. An object once stored may reveal
// more that is missing (a commit's maps): the next round asks for those.
// Each ID is asked of each remote at most once, so it ends.
func Repair(ctx context.Context, r *repo.Repo, remotes []Remote, opts Options) (*RepairReport, error) {
	out := &RepairReport{Repaired: map[string][]objects.ID{}, Errors: map[string]string{}}
	asked := map[objects.ID]bool{}
	for {
		rep, err := r.Fsck(ctx)
		if err != nil {
			return out, err
		}
		out.Fsck = rep
		var want []objects.ID
		for _, id := range rep.Damaged() {
			if !asked[id] {
				asked[id] = true
				want = append(want, id)
			}
		}
		if len(want) == 0 {
			return out, nil
		}
		for _, rm := range remotes {
			if len(want) == 0 {
				break
			}
			got, err := fetchObjects(ctx, r, rm, want, opts)
			out.Repaired[rm.Name] = append(out.Repaired[rm.Name], got...)
			if err != nil {
				out.Errors[rm.Name] = err.Error()
			}
			want = without(want, got)
		}
	}
}

// fetchObjects asks one remote for objects by ID and stores those it
// sends, returning their IDs.
func fetchObjects(ctx context.Context, r *repo.Repo, rm Remote, ids []objects.ID, opts Options) ([]objects.ID, error) {
	c, err := newClient(rm, opts)
	if err != nil {
		return nil, err
	}
	var got []objects.ID
	for start := 0; start < len(ids); start += wire.MaxObjectsRequest {
		part := ids[start:min(start+wire.MaxObjectsRequest, len(ids))]
		err := c.Objects(ctx, wire.ObjectsRequest{IDs: part}, opts.Limits, func(pr *wire.PackReader) error {
			stored, err := transfer.ReceiveIDs(ctx, r.Store(), pr, part)
			got = append(got, stored...)
			return err
		})
		if err != nil {
			return got, fmt.Errorf("%s: %w", rm.Name, err)
		}
	}
	return got, nil
}

// without returns ids less those in drop.
func without(ids, drop []objects.ID) []objects.ID {
	gone := make(map[objects.ID]bool, len(drop))
	for _, id := range drop {
		gone[id] = true
	}
	var out []objects.ID
	for _, id := range ids {
		if !gone[id] {
			out = append(out, id)
		}
	}
	return out
}
