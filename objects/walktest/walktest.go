// Package walktest gives history-walk tests a long linear history held as
// encoded bytes, as a store holds it, and measures how much of it a walk
// keeps in memory: the live heap is taken (after a collection) early in
// the walk and again at its end, and a walk that keeps what it visited
// shows the difference. Tests only.
package walktest

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/folio-db/folio/objects"
)

// History is a linear history, root first. It reads as a store
// (objects.ObjectReader) and as a commit reader.
type History struct {
	IDs   []objects.ID // by height: IDs[0] is the root
	objs  map[objects.ID][]byte
	reads int
	first uint64 // live heap at the first measuring point
	last  uint64 // live heap at the last read
}

// Linear builds a history of n commits, each with a message long enough
// that keeping every commit shows.
func Linear(n int) *History {
	h := &History{objs: make(map[objects.ID][]byte, n)}
	var parents []objects.ID
	for i := range n {
		c := objects.Commit{
			Parents:    parents,
			Height:     uint64(i + 1),
			Author:     objects.Signature{Name: "walk", Email: "walk@example.com"},
			Time:       time.Unix(int64(i), 0).UTC(),
			CommitTime: time.Unix(int64(i), 0).UTC(),
			Message:    fmt.Sprintf("commit %d of a long linear history, padded to a realistic length", i),
		}
		obj := c.Encode()
		h.objs[obj.ID] = obj.Data
		h.IDs = append(h.IDs, obj.ID)
		parents = []objects.ID{obj.ID}
	}
	return h
}

// Tip is the newest commit.
func (h *History) Tip() objects.ID { return h.IDs[len(h.IDs)-1] }

// Get returns a fresh copy of an object's bytes.
func (h *History) Get(_ context.Context, id objects.ID) ([]byte, error) {
	data, ok := h.objs[id]
	if !ok {
		return nil, fmt.Errorf("walktest %s: %w", id.Short(), objects.ErrNotFound)
	}
	h.reads++
	if h.reads == firstCheck || h.reads == len(h.IDs) {
		live := liveHeap()
		if h.reads == firstCheck {
			h.first = live
		}
		h.last = live
	}
	return append([]byte(nil), data...), nil
}

// Has reports whether the history holds id.
func (h *History) Has(_ context.Context, id objects.ID) (bool, error) {
	_, ok := h.objs[id]
	return ok, nil
}

// ReadCommit decodes a commit afresh.
func (h *History) ReadCommit(ctx context.Context, id objects.ID) (*objects.Commit, error) {
	data, err := h.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return objects.DecodeCommit(data)
}

// firstCheck is the read at which the first measure is taken.
const firstCheck = 100

// Growth is how much the live heap grew between the first measuring point
// and the read of as many objects as the history has commits (0 if the
// walk read fewer).
func (h *History) Growth() int64 { return int64(h.last) - int64(h.first) }

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
