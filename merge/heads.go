package merge

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// Relation says how two heads relate.
type Relation uint8

// Relations between ours and theirs.
const (
	UpToDate    Relation = iota // theirs is already in ours
	FastForward                 // ours is in theirs: move to theirs
	Diverged                    // a merge is needed
)

// Result is the merge of two heads.
type Result struct {
	Relation Relation
	Ours     Head
	Theirs   Head
	Bases    []objects.ID
	*Outcome // set when Relation is Diverged
}

// maxVirtualDepth bounds the recursion of virtual merge bases; deeper
// criss-crosses use the first base as it is.
const maxVirtualDepth = 8

// Heads merges theirs into ours: it finds the merge bases, merges several
// bases into a virtual one, and merges the indexes. It stores the merged
// documents, conflict records and maps, but makes no commit and moves no ref.
func Heads(ctx context.Context, r *repo.Repo, ours, theirs objects.ID) (*Result, error) {
	m := &merger{r: r, commits: newCommitCache(r), virtual: map[string]virtualHead{}}
	oursHead, err := HeadOf(ctx, m.commits, ours)
	if err != nil {
		return nil, err
	}
	theirsHead, err := HeadOf(ctx, m.commits, theirs)
	if err != nil {
		return nil, err
	}
	res := &Result{Ours: oursHead, Theirs: theirsHead}
	if res.Bases, err = Bases(ctx, m.commits, ours, theirs); err != nil {
		return nil, err
	}
	switch {
	case slices.Contains(res.Bases, theirs):
		res.Relation = UpToDate
		return res, nil
	case slices.Contains(res.Bases, ours):
		res.Relation = FastForward
		return res, nil
	}
	res.Relation = Diverged
	base, err := m.virtualBase(ctx, res.Bases, 0)
	if err != nil {
		return nil, err
	}
	res.Outcome, err = Indexes(ctx, r, base, oursHead, theirsHead)
	return res, err
}

// merger is one merge of two heads: the commits its walks read, and the
// virtual bases it made, which a criss-cross history asks for again and
// again (the same bases turn up below several pairs). Both are only
// shortcuts: a virtual base depends on its bases and depth alone, so it
// comes out the same whether made or remembered. The repository
// remembers virtual bases too, for later merges (repo.Derived).
type merger struct {
	r       *repo.Repo
	commits *commitCache
	virtual map[string]virtualHead // by depth and bases
}

// virtualHead is a virtual base, and the levels of virtual bases below
// it that it took (need, counting its own): made at any depth d with
// d+need <= maxVirtualDepth, it comes out the same, as nothing cuts its
// recursion short. need is cutShort when the depth bound did: then it is
// particular to its depth.
type virtualHead struct {
	Head
	need int
}

const cutShort = -1

// virtualBase turns the merge bases into one head: none is the empty map,
// one is itself, several are merged pairwise in ID order, each merge
// against their own bases, into virtual commits that are stored but that no
// ref names.
func (m *merger) virtualBase(ctx context.Context, bases []objects.ID, depth int) (Head, error) {
	v, err := m.virtualAt(ctx, bases, depth)
	return v.Head, err
}

func (m *merger) virtualAt(ctx context.Context, bases []objects.ID, depth int) (virtualHead, error) {
	switch {
	case len(bases) == 0:
		return virtualHead{}, nil
	case len(bases) == 1 || depth >= maxVirtualDepth:
		h, err := HeadOf(ctx, m.commits, bases[0])
		need := 0
		if len(bases) > 1 {
			need = cutShort // deeper criss-crosses use the first base as it is
		}
		return virtualHead{h, need}, err
	}
	key := fmt.Sprint(depth, bases)
	if v, ok := m.virtual[key]; ok {
		return v, nil
	}
	// Remembered by the repository: made at a depth that did not cut it
	// short, or cut short at this depth.
	anyDepth := objects.Hash([]byte("virtual merge base " + fmt.Sprint(bases)))
	atDepth := objects.Hash([]byte("virtual merge base at " + key))
	if d, ok := m.r.Derived(anyDepth); ok && depth+d.Note <= maxVirtualDepth {
		if v, err := m.remembered(ctx, key, d); err == nil {
			return v, nil
		}
	}
	if d, ok := m.r.Derived(atDepth); ok {
		if v, err := m.remembered(ctx, key, d); err == nil {
			return v, nil
		}
	}
	epoch := m.r.DerivedEpoch()
	v, err := m.mergeBases(ctx, bases, depth)
	if err != nil {
		return virtualHead{}, err
	}
	m.virtual[key] = v
	if v.need == cutShort {
		m.r.RememberDerived(epoch, atDepth, repo.DerivedCommit{Commit: v.Commit, Note: cutShort})
	} else {
		m.r.RememberDerived(epoch, anyDepth, repo.DerivedCommit{Commit: v.Commit, Note: v.need})
	}
	return v, nil
}

// remembered is a virtual base the repository remembered, read again.
func (m *merger) remembered(ctx context.Context, key string, d repo.DerivedCommit) (virtualHead, error) {
	h, err := HeadOf(ctx, m.commits, d.Commit)
	if err != nil {
		return virtualHead{}, err // gone: made again
	}
	v := virtualHead{h, d.Note}
	m.virtual[key] = v
	return v, nil
}

// mergeBases merges several bases pairwise in ID order, each merge
// against their own bases, into a virtual commit.
func (m *merger) mergeBases(ctx context.Context, bases []objects.ID, depth int) (virtualHead, error) {
	acc, err := HeadOf(ctx, m.commits, bases[0])
	if err != nil {
		return virtualHead{}, err
	}
	need := 1
	for _, b := range bases[1:] {
		next, err := HeadOf(ctx, m.commits, b)
		if err != nil {
			return virtualHead{}, err
		}
		sub, err := Bases(ctx, m.commits, acc.Commit, b)
		if err != nil {
			return virtualHead{}, err
		}
		subBase, err := m.virtualAt(ctx, sub, depth+1)
		if err != nil {
			return virtualHead{}, err
		}
		switch {
		case subBase.need == cutShort:
			need = cutShort
		case need != cutShort:
			need = max(need, 1+subBase.need)
		}
		out, err := Indexes(ctx, m.r, subBase.Head, acc, next)
		if err != nil {
			return virtualHead{}, err
		}
		id, c, err := writeMergeCommit(ctx, m.r, acc, next, out, "virtual merge base")
		if err != nil {
			return virtualHead{}, err
		}
		acc = headOf(id, c)
	}
	return virtualHead{acc, need}, nil
}

// maxCachedCommits bounds the commits one merge keeps read.
const maxCachedCommits = 1 << 16

// commitCache reads commits through r once each: the walks of one merge
// (the bases of the heads, of each pair of bases, and whether one base
// is below another) read the same commits many times over.
type commitCache struct {
	r    CommitReader
	read map[objects.ID]*objects.Commit
}

func newCommitCache(r CommitReader) *commitCache {
	return &commitCache{r: r, read: map[objects.ID]*objects.Commit{}}
}

// ReadCommit returns the commit, read once. Commits are immutable, and
// the walks only read them.
func (c *commitCache) ReadCommit(ctx context.Context, id objects.ID) (*objects.Commit, error) {
	if got, ok := c.read[id]; ok {
		return got, nil
	}
	got, err := c.r.ReadCommit(ctx, id)
	if err == nil {
		c.add(id, got)
	}
	return got, err
}

func (c *commitCache) add(id objects.ID, commit *objects.Commit) {
	if len(c.read) < maxCachedCommits {
		c.read[id] = commit
	}
}

// MergeAuthor signs the merge commits that Converge makes: they belong to
// no one leader.
var MergeAuthor = objects.Signature{Name: "folio sync", Email: "sync@folio.invalid"}

// Converge merges two heads the same way on every leader: the heads are put
// in ID order (the smaller is ours), and the merge commit's parents, times
// (author date and commit time: the later parent's commit time, never an
// author date), author (MergeAuthor) and message come from the inputs only. Any leader converging the same two heads writes a
// byte-identical commit. It returns the resulting head: one of the two when
// one contains the other, else the new merge commit.
func Converge(ctx context.Context, r *repo.Repo, a, b objects.ID) (objects.ID, *Result, error) {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	// What the merge writes (its virtual bases, maps and commit) is
	// stored in one synced write, before the caller names it.
	buf, flush := r.Buffered()
	res, err := Heads(ctx, buf, a, b)
	if err != nil {
		return objects.ID{}, nil, err
	}
	switch res.Relation {
	case UpToDate:
		return a, res, nil
	case FastForward:
		return b, res, nil
	}
	id, _, err := writeMergeCommit(ctx, buf, res.Ours, res.Theirs, res.Outcome, ConvergeMessage(a, b, res.Conflicted))
	if err != nil {
		return objects.ID{}, nil, err
	}
	return id, res, flush(ctx)
}

// ConvergeMessage describes a converging merge from its inputs only.
func ConvergeMessage(a, b objects.ID, conflicted []Conflicted) string {
	var msg strings.Builder
	fmt.Fprintf(&msg, "Merge %s and %s\n", a, b)
	if len(conflicted) > 0 {
		msg.WriteString("\nConflicts:\n")
		for _, c := range conflicted {
			fmt.Fprintf(&msg, "\t%s\n", c.Key)
		}
	}
	return msg.String()
}

// writeMergeCommit stores the deterministic merge commit of two heads.
func writeMergeCommit(ctx context.Context, r *repo.Repo, ours, theirs Head, out *Outcome, message string) (objects.ID, *objects.Commit, error) {
	parents := []objects.ID{ours.Commit, theirs.Commit}
	slices.SortFunc(parents, objects.ID.Compare)
	when := ours.CommitTime
	if theirs.CommitTime.After(when) {
		when = theirs.CommitTime
	}
	c := &objects.Commit{Index: out.Index, Conflicts: out.Conflicts, Parents: parents,
		Author: MergeAuthor, Time: when.UTC(), CommitTime: when, Message: message}
	id, err := r.WriteCommit(ctx, c)
	return id, c, err
}

// CommitOptions describe a merge commit made by a person (folio merge).
// Time is the author date (zero: the clock); the commit time comes from the
// repository's clock (repo.WriteCommit).
type CommitOptions struct {
	Author  objects.Signature
	Time    time.Time
	Message string
}

// Commit stores a merge commit with parents ours then theirs.
func Commit(ctx context.Context, r *repo.Repo, res *Result, opts CommitOptions) (objects.ID, error) {
	c := &objects.Commit{Index: res.Index, Conflicts: res.Conflicts,
		Parents: []objects.ID{res.Ours.Commit, res.Theirs.Commit},
		Author:  opts.Author, Time: opts.Time, Message: opts.Message}
	return r.WriteCommit(ctx, c)
}
