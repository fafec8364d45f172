package server

import "time"

// SweepIdle closes the repositories of a Root unused since before
// now-IdleClose and returns how many stay open; the zero time closes none.
func SweepIdle(r Repos, now time.Time) int { return r.(*root).sweep(now) }

// QueuedWrites is how many document writes wait for a group commit of r.
func QueuedWrites(r *Repo) int {
	r.docs.mu.Lock()
	defer r.docs.mu.Unlock()
	return len(r.docs.waiting)
}

// MaxPipelined is how many groups one hold of the write lock commits.
const MaxPipelined = maxPipelined
