package repo

import "github.com/folio-db/folio/objects"

// Derived commits are commits a repository stores that no ref names and
// that depend on their inputs alone, as merge's virtual merge bases: the
// repository remembers each by a key of its inputs, so the same inputs
// are not merged and written again. Leaders peered all-to-all merge
// criss-cross histories whose bases come up again and again, in one sync
// after another, and a server merges a push twice (without, then with,
// its write lock).
//
// Nothing names a derived commit, so gc deletes it once its grace period
// has passed; gc forgets them all as it begins (a merge during it makes
// its bases anew, so writes what it builds on) and once it swept. A gc
// that is not exclusive keeps what those it forgot reach, for merges
// that took one before it began.

// DerivedCommit is a derived commit, and a note from its maker on when
// it may be used again.
type DerivedCommit struct {
	Commit objects.ID
	Note   int
}

// maxDerived bounds the derived commits remembered.
const maxDerived = 4096

func newDerived() *objects.Recent[DerivedCommit] {
	return objects.NewRecent(maxDerived, func(DerivedCommit) int64 { return 1 })
}

// Derived returns the commit remembered under key, if any.
func (r *Repo) Derived(key objects.ID) (DerivedCommit, bool) {
	return r.derived.Get(key)
}

// DerivedEpoch is what to hand to RememberDerived for a commit about to
// be made.
func (r *Repo) DerivedEpoch() uint64 { return r.derived.Epoch() }

// RememberDerived remembers d, its commit stored, under key, unless gc
// ran since epoch.
func (r *Repo) RememberDerived(epoch uint64, key objects.ID, d DerivedCommit) {
	r.derived.Add(epoch, key, d)
}
