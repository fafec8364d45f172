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
	m := &merger{r: r, commits: newCommitCache(r), virtual: map[string]Head{}}
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
// comes out the same whether made or remembered.
type merger struct {
	r       *repo.Repo
	commits *commitCache
	virtual map[string]Head // by depth and bases
}

// virtualBase turns the merge bases into one head: none is the empty map,
// one is itself, several are merged pairwise in ID order, each merge
// against their own bases, into virtual commits that are stored but that no
// ref names.
func (m *merger) virtualBase(ctx context.Context, bases []objects.ID, depth int) (Head, error) {
	if len(bases) == 0 {
		return Head{}, nil
	}
	key := fmt.Sprint(depth, bases)
	if h, ok := m.virtual[key]; ok {
		return h, nil
	}
	acc, err := HeadOf(ctx, m.commits, bases[0])
	if err != nil || depth >= maxVirtualDepth {
		return acc, err
	}
	for _, b := range bases[1:] {
		next, err := HeadOf(ctx, m.commits, b)
		if err != nil {
			return Head{}, err
		}
		sub, err := Bases(ctx, m.commits, acc.Commit, b)
		if err != nil {
			return Head{}, err
		}
		subBase, err := m.virtualBase(ctx, sub, depth+1)
		if err != nil {
			return Head{}, err
		}
		out, err := Indexes(ctx, m.r, subBase, acc, next)
		if err != nil {
			return Head{}, err
		}
		id, c, err := writeMergeCommit(ctx, m.r, acc, next, out, "virtual merge base")
		if err != nil {
			return Head{}, err
		}
		acc = headOf(id, c)
	}
	m.virtual[key] = acc
	return acc, nil
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
	res, err := Heads(ctx, r, a, b)
	if err != nil {
		return objects.ID{}, nil, err
	}
	switch res.Relation {
	case UpToDate:
		return a, res, nil
	case FastForward:
		return b, res, nil
	}
	id, _, err := writeMergeCommit(ctx, r, res.Ours, res.Theirs, res.Outcome, ConvergeMessage(a, b, res.Conflicted))
	return id, res, err
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
