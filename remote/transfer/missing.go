package transfer

import (
	"container/heap"
	"context"
	"fmt"
	"slices"

	"github.com/folio-db/folio/objects"
)

const (
	wanted = 1 << iota
	had
)

// Source is what the sender reads: a store.
type Source = objects.ObjectReader

func readCommit(ctx context.Context, r Source, id objects.ID) (*objects.Commit, error) {
	data, err := r.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", id.Short(), err)
	}
	return objects.DecodeCommit(data)
}

// MissingCommits returns the commits reachable from wants but not from
// haves, parents before children. Haves the sender does not have are
// ignored (the receiver may know commits from elsewhere).
//
// The walk pops the highest commit first. All children of a commit are
// higher, so when it pops, every flag it will ever get has reached it: it
// is missing exactly when no have reaches it. The walk ends when every
// queued commit is reached by a have.
func MissingCommits(ctx context.Context, r Source, wants, haves []objects.ID) ([]objects.ID, error) {
	w := &missingWalk{r: r, flags: map[objects.ID]uint8{}, commits: map[objects.ID]*objects.Commit{}, queued: map[objects.ID]bool{}}
	for _, h := range haves {
		if ok, err := r.Has(ctx, h); err != nil {
			return nil, err
		} else if ok {
			if err := w.push(ctx, h, had); err != nil {
				return nil, err
			}
		}
	}
	for _, id := range wants {
		if err := w.push(ctx, id, wanted); err != nil {
			return nil, err
		}
	}
	var missing []objects.ID
	for w.live > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		it := heap.Pop(&w.q).(walkItem)
		if !w.queued[it.id] {
			continue // a duplicate entry of a commit already handled
		}
		delete(w.queued, it.id)
		f := w.flags[it.id]
		if f&had == 0 {
			w.live--
			missing = append(missing, it.id)
		}
		for _, p := range w.commits[it.id].Parents {
			if err := w.push(ctx, p, f); err != nil {
				return nil, err
			}
		}
	}
	slices.Reverse(missing) // heights grow from parent to child
	return missing, nil
}

type missingWalk struct {
	r       Source
	flags   map[objects.ID]uint8
	commits map[objects.ID]*objects.Commit
	queued  map[objects.ID]bool
	q       walkQueue
	live    int // queued commits no have reaches (yet)
}

func (w *missingWalk) push(ctx context.Context, id objects.ID, f uint8) error {
	was, seen := w.flags[id]
	if seen && was|f == was {
		return nil
	}
	w.flags[id] = was | f
	if w.queued[id] {
		if was&had == 0 && f&had != 0 {
			w.live--
		}
		return nil
	}
	if seen {
		return nil // already popped: its flags were complete then
	}
	c, err := readCommit(ctx, w.r, id)
	if err != nil {
		return err
	}
	w.commits[id] = c
	w.queued[id] = true
	heap.Push(&w.q, walkItem{id, c.Height})
	if (was|f)&had == 0 {
		w.live++
	}
	return nil
}

type walkItem struct {
	id     objects.ID
	height uint64
}

// walkQueue pops the highest commit first, ties by ID for a fixed order.
type walkQueue []walkItem

func (q walkQueue) Len() int { return len(q) }
func (q walkQueue) Less(i, j int) bool {
	if q[i].height != q[j].height {
		return q[i].height > q[j].height
	}
	return q[i].id.Compare(q[j].id) > 0
}
func (q walkQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *walkQueue) Push(x any)   { *q = append(*q, x.(walkItem)) }
func (q *walkQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
