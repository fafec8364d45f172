package merge

import (
	"container/heap"
	"context"
	"slices"

	"github.com/folio-db/folio/objects"
)

// CommitReader reads commits.
type CommitReader interface {
	ReadCommit(ctx context.Context, id objects.ID) (*objects.Commit, error)
}

// Walk flags, as in Git's paint-down-to-common.
const (
	fromA  = 1 << iota // reachable from a
	fromB              // reachable from b
	stale              // below a common ancestor already found
	result             // recorded as a common ancestor
)

// Bases returns the best common ancestors of a and b: common ancestors
// that are not ancestors of another common ancestor. There is one in a
// plain fork, several in a criss-cross history, none for unrelated
// histories. They are sorted by ID. The walk visits commits highest first
// and stops when every commit left in the queue is below a common
// ancestor, so it reads only the commits above the bases.
func Bases(ctx context.Context, r CommitReader, a, b objects.ID) ([]objects.ID, error) {
	if a == b {
		return []objects.ID{a}, nil
	}
	w := &painter{r: r, flags: map[objects.ID]uint8{}, queued: map[objects.ID]int{}, commits: map[objects.ID]*objects.Commit{}}
	if err := w.push(ctx, a, fromA); err != nil {
		return nil, err
	}
	if err := w.push(ctx, b, fromB); err != nil {
		return nil, err
	}
	var found []objects.ID
	for w.live > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		next := w.pop()
		f := w.flags[next.id] & (fromA | fromB | stale)
		if f&(fromA|fromB) == fromA|fromB && f&stale == 0 {
			if w.flags[next.id]&result == 0 {
				w.flags[next.id] |= result
				found = append(found, next.id)
			}
			f |= stale
		}
		for _, p := range next.c.Parents {
			if w.flags[p]&f == f {
				continue
			}
			if err := w.push(ctx, p, f); err != nil {
				return nil, err
			}
		}
	}
	best, err := removeRedundant(ctx, r, found)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(best, objects.ID.Compare)
	return best, nil
}

type painter struct {
	r       CommitReader
	flags   map[objects.ID]uint8
	q       heightQueue
	queued  map[objects.ID]int // entries per commit in q
	live    int                // entries in q whose commit is not stale
	commits map[objects.ID]*objects.Commit
}

// push adds flags to a commit and queues it (again) so they spread to its
// parents.
func (w *painter) push(ctx context.Context, id objects.ID, f uint8) error {
	was := w.flags[id]
	w.flags[id] |= f
	if was&stale == 0 && f&stale != 0 {
		w.live -= w.queued[id] // its earlier entries went stale
	}
	c, err := w.read(ctx, id)
	if err != nil {
		return err
	}
	heap.Push(&w.q, heightItem{id, c})
	w.queued[id]++
	if w.flags[id]&stale == 0 {
		w.live++
	}
	return nil
}

func (w *painter) pop() heightItem {
	it := heap.Pop(&w.q).(heightItem)
	w.queued[it.id]--
	if w.flags[it.id]&stale == 0 {
		w.live--
	}
	return it
}

func (w *painter) read(ctx context.Context, id objects.ID) (*objects.Commit, error) {
	if c, ok := w.commits[id]; ok {
		return c, nil
	}
	c, err := w.r.ReadCommit(ctx, id)
	if err != nil {
		return nil, err
	}
	w.commits[id] = c
	return c, nil
}

// removeRedundant drops candidates that are ancestors of other candidates.
func removeRedundant(ctx context.Context, r CommitReader, candidates []objects.ID) ([]objects.ID, error) {
	if len(candidates) < 2 {
		return candidates, nil
	}
	var out []objects.ID
	for i, c := range candidates {
		redundant := false
		for j, other := range candidates {
			if i == j {
				continue
			}
			ok, err := IsAncestor(ctx, r, c, other)
			if err != nil {
				return nil, err
			}
			if ok {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, c)
		}
	}
	return out, nil
}

// IsAncestor reports whether a is an ancestor of b (or b itself). Heights
// bound the walk: nothing below a's height needs to be read.
func IsAncestor(ctx context.Context, r CommitReader, a, b objects.ID) (bool, error) {
	if a == b {
		return true, nil
	}
	ac, err := r.ReadCommit(ctx, a)
	if err != nil {
		return false, err
	}
	seen := map[objects.ID]bool{b: true}
	stack := []objects.ID{b}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c, err := r.ReadCommit(ctx, id)
		if err != nil {
			return false, err
		}
		for _, p := range c.Parents {
			if p == a {
				return true, nil
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			pc, err := r.ReadCommit(ctx, p)
			if err != nil {
				return false, err
			}
			if pc.Height > ac.Height {
				stack = append(stack, p)
			}
		}
	}
	return false, nil
}

type heightItem struct {
	id objects.ID
	c  *objects.Commit
}

// heightQueue pops the highest commit first, ties by larger ID, so the walk
// order is the same everywhere.
type heightQueue []heightItem

func (q heightQueue) Len() int { return len(q) }
func (q heightQueue) Less(i, j int) bool {
	if q[i].c.Height != q[j].c.Height {
		return q[i].c.Height > q[j].c.Height
	}
	return q[i].id.Compare(q[j].id) > 0
}
func (q heightQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *heightQueue) Push(x any)   { *q = append(*q, x.(heightItem)) }
func (q *heightQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
