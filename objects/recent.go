package objects

import "sync"

// Recent keeps values by ID, within a budget, for those read or written
// lately: what a store just wrote is what a leader's peers fetch next,
// and what its merges and receives read. It holds two generations: values
// go into the current one, which becomes the previous one once it holds
// half the budget (the previous one is dropped then); a value found in
// the previous one moves back into the current.
//
// Values are shared: nothing may change one once added. A store that
// deletes objects (a collection) calls Forget once the deletion is done;
// a value read or written before that, added with the epoch (Epoch) taken
// before it, is then not kept, so a Recent never holds a deleted object.
//
// A nil *Recent keeps nothing.
type Recent[V any] struct {
	half int64         // a generation's budget
	cost func(V) int64 // what a value counts against the budget

	mu        sync.Mutex
	cur, prev map[ID]V
	curCost   int64
	epoch     uint64 // Forgets so far
}

// NewRecent returns a Recent of budget, nil (keeping nothing) when it is
// not positive.
func NewRecent[V any](budget int64, cost func(V) int64) *Recent[V] {
	if budget <= 0 {
		return nil
	}
	return &Recent[V]{half: budget / 2, cost: cost}
}

// Get returns the value kept for id.
func (r *Recent[V]) Get(id ID) (V, bool) {
	var none V
	if r == nil {
		return none, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.cur[id]; ok {
		return v, true
	}
	v, ok := r.prev[id]
	if !ok {
		return none, false
	}
	delete(r.prev, id)
	r.keep(id, v)
	return v, true
}

// Epoch is what to hand to Add for values about to be read or written.
func (r *Recent[V]) Epoch() uint64 {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epoch
}

// Add keeps v for id, in place of what was kept for it (a store that
// repairs an object puts its good bytes again), unless Forget was called
// since epoch.
func (r *Recent[V]) Add(epoch uint64, id ID, v V) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if epoch != r.epoch {
		return
	}
	if old, ok := r.cur[id]; ok {
		r.curCost -= r.cost(old)
		delete(r.cur, id)
	}
	delete(r.prev, id)
	r.keep(id, v)
}

func (r *Recent[V]) keep(id ID, v V) {
	cost := r.cost(v)
	if cost > r.half {
		return
	}
	if r.cur == nil || r.curCost+cost > r.half {
		r.prev, r.cur, r.curCost = r.cur, map[ID]V{}, 0
	}
	r.cur[id] = v
	r.curCost += cost
}

// Forget drops every value, and every Add for an epoch before.
func (r *Recent[V]) Forget() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur, r.prev, r.curCost = nil, nil, 0
	r.epoch++
}

// Values returns the values kept now.
func (r *Recent[V]) Values() []V {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]V, 0, len(r.cur)+len(r.prev))
	for _, m := range []map[ID]V{r.cur, r.prev} {
		for _, v := range m {
			out = append(out, v)
		}
	}
	return out
}
