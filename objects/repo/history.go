package repo

import (
	"container/heap"
	"context"

	"github.com/folio-db/folio/objects"
)

// Walk visits the commits reachable from starts, each once, newest first:
// by commit time, then height, then ID, so the order is the same on every
// machine. fn may return ErrStop to end the walk early.
func (r *Repo) Walk(ctx context.Context, starts []objects.ID, fn func(id objects.ID, c *objects.Commit) error) error {
	q := &commitQueue{}
	seen := map[objects.ID]bool{}
	push := func(id objects.ID) error {
		if seen[id] {
			return nil
		}
		seen[id] = true
		c, err := r.ReadCommit(ctx, id)
		if err != nil {
			return err
		}
		heap.Push(q, queued{id, c})
		return nil
	}
	for _, id := range starts {
		if err := push(id); err != nil {
			return err
		}
	}
	for q.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		next := heap.Pop(q).(queued)
		if err := fn(next.id, next.c); err != nil {
			if err == ErrStop {
				return nil
			}
			return err
		}
		for _, p := range next.c.Parents {
			if err := push(p); err != nil {
				return err
			}
		}
	}
	return nil
}

type queued struct {
	id objects.ID
	c  *objects.Commit
}

type commitQueue []queued

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	a, b := q[i], q[j]
	if !a.c.CommitTime.Equal(b.c.CommitTime) {
		return a.c.CommitTime.After(b.c.CommitTime)
	}
	if a.c.Height != b.c.Height {
		return a.c.Height > b.c.Height
	}
	return a.id.Compare(b.id) > 0
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *commitQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
