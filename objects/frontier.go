package objects

import (
	"container/heap"
	"context"
	"fmt"
)

// Frontier is the edge of a history walk that visits commits highest
// first (Git's generation-number walks): the commits queued and not yet
// visited, each once, with the flags the walk has painted on it.
//
// All children of a commit are higher than it, so when a commit pops,
// every flag it will ever get has reached it, and no later step can queue
// it again. The frontier therefore forgets a commit as it pops: memory
// follows the width of the history, never its length. A parent that is not
// lower than the commit naming it would break that order, so Add refuses
// it as corrupt.
type Frontier struct {
	read  func(context.Context, ID) (*Commit, error)
	done  uint8 // flags that retire a commit from Live
	q     frontierQueue
	at    map[ID]*frontierItem
	live  int    // queued commits without a done flag
	floor uint64 // height of the last commit popped (0 before the first)
}

type frontierItem struct {
	id    ID
	c     *Commit
	flags uint8
}

// NewFrontier starts an empty walk that reads commits with read. A queued
// commit counts in Live until it carries one of the done flags.
func NewFrontier(read func(context.Context, ID) (*Commit, error), done uint8) *Frontier {
	return &Frontier{read: read, done: done, at: map[ID]*frontierItem{}}
}

// Add paints flags on a commit, queueing it if it is not queued yet.
func (f *Frontier) Add(ctx context.Context, id ID, flags uint8) error {
	if it, ok := f.at[id]; ok {
		if it.flags&f.done == 0 && flags&f.done != 0 {
			f.live--
		}
		it.flags |= flags
		return nil
	}
	c, err := f.read(ctx, id)
	if err != nil {
		return err
	}
	if f.floor != 0 && c.Height >= f.floor {
		return fmt.Errorf("%w: commit %s has height %d, not below its child's %d", ErrCorrupt, id.Short(), c.Height, f.floor)
	}
	it := &frontierItem{id: id, c: c, flags: flags}
	heap.Push(&f.q, it)
	f.at[id] = it
	if flags&f.done == 0 {
		f.live++
	}
	return nil
}

// Pop removes and returns the highest queued commit (ties: larger ID
// first, so the order is the same on every machine) with its flags.
func (f *Frontier) Pop() (ID, *Commit, uint8) {
	it := heap.Pop(&f.q).(*frontierItem)
	delete(f.at, it.id)
	if it.flags&f.done == 0 {
		f.live--
	}
	f.floor = it.c.Height
	return it.id, it.c, it.flags
}

// Len is the number of queued commits.
func (f *Frontier) Len() int { return len(f.q) }

// Live is the number of queued commits without a done flag.
func (f *Frontier) Live() int { return f.live }

type frontierQueue []*frontierItem

func (q frontierQueue) Len() int { return len(q) }
func (q frontierQueue) Less(i, j int) bool {
	if q[i].c.Height != q[j].c.Height {
		return q[i].c.Height > q[j].c.Height
	}
	return q[i].id.Compare(q[j].id) > 0
}
func (q frontierQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *frontierQueue) Push(x any)   { *q = append(*q, x.(*frontierItem)) }
func (q *frontierQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return x
}
