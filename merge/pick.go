package merge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// ErrMergeCommit: cherry-pick and revert apply the change of a commit
// against its one parent; a merge commit has several.
var ErrMergeCommit = errors.New("merge: a merge commit has no single change to apply")

// PickOptions say how to apply one commit's change to the current branch.
type PickOptions struct {
	// Revert applies the inverse of the change (git revert); else the
	// change itself (git cherry-pick).
	Revert bool
	// Author and Time (the author date) sign a revert; a cherry-pick
	// keeps the picked commit's author, date and message. The commit time
	// comes from the repository's clock.
	Author objects.Signature
	Time   time.Time
}

// PickResult is the commit a Pick made.
type PickResult struct {
	Branch     string       `json:"branch"`
	Commit     objects.ID   `json:"commit"`
	Picked     objects.ID   `json:"picked"`
	Conflicted []Conflicted `json:"conflicts"`
}

// Pick applies the change that commit made against its parent, or with
// opts.Revert its inverse, to the head of the current branch: a three-way
// merge whose base is the commit's parent (for a revert, the commit
// itself). The result is committed with the head as its only parent, and
// the branch moves by compare-and-swap. Conflicts are recorded as in any
// merge, the newer side's version standing. The branch must have nothing
// staged, and a change already there is ErrNothingToCommit.
func Pick(ctx context.Context, r *repo.Repo, commit objects.ID, opts PickOptions) (*PickResult, error) {
	staged, err := r.CurrentStaged(ctx)
	if err != nil {
		return nil, err
	}
	if staged.HasChanges() {
		return nil, fmt.Errorf("%w: commit them or drop them with 'folio reset' first", repo.ErrStagedChanges)
	}
	if staged.Head.IsZero() {
		return nil, repo.ErrNoCommits
	}
	c, err := r.ReadCommit(ctx, commit)
	if err != nil {
		return nil, err
	}
	base, theirs, err := pickSides(ctx, r, commit, c, opts.Revert)
	if err != nil {
		return nil, err
	}
	ours, err := HeadOf(ctx, r, staged.Head)
	if err != nil {
		return nil, err
	}
	out, err := Indexes(ctx, r, base, ours, theirs)
	if err != nil {
		return nil, err
	}
	if out.Index == ours.Index && out.Conflicts == ours.Conflicts {
		return nil, fmt.Errorf("%w: the change of %s is already on %s", repo.ErrNothingToCommit, commit.Short(),
			strings.TrimPrefix(staged.Branch, objects.BranchPrefix))
	}
	next := &objects.Commit{Index: out.Index, Conflicts: out.Conflicts, Parents: []objects.ID{ours.Commit},
		Author: c.Author, Time: c.Time,
		Message: strings.TrimRight(c.Message, "\n") + fmt.Sprintf("\n\n(cherry picked from commit %s)\n", commit)}
	if opts.Revert {
		next.Author, next.Time, next.Message = opts.Author, opts.Time, revertMessage(commit, c)
	}
	id, err := r.WriteCommit(ctx, next)
	if err != nil {
		return nil, err
	}
	if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: staged.Branch, Old: ours.Commit, New: id}); err != nil {
		return nil, err
	}
	return &PickResult{Branch: strings.TrimPrefix(staged.Branch, objects.BranchPrefix), Commit: id, Picked: commit,
		Conflicted: out.Conflicted}, nil
}

// pickSides returns the base and theirs of applying commit c (ID id):
// parent -> c for a cherry-pick, c -> parent for a revert.
func pickSides(ctx context.Context, r *repo.Repo, id objects.ID, c *objects.Commit, revert bool) (base, theirs Head, err error) {
	if len(c.Parents) > 1 {
		return base, theirs, fmt.Errorf("%w: %s has %d parents", ErrMergeCommit, id.Short(), len(c.Parents))
	}
	commitHead := Head{Commit: id, Index: c.Index, Conflicts: c.Conflicts, CommitTime: c.CommitTime}
	var parentHead Head // a root commit's parent is the empty map
	if len(c.Parents) == 1 {
		if parentHead, err = HeadOf(ctx, r, c.Parents[0]); err != nil {
			return base, theirs, err
		}
	}
	if revert {
		// Theirs is the parent's maps, but stands as the revert itself.
		parentHead.Commit, parentHead.CommitTime = id, c.CommitTime
		return commitHead, parentHead, nil
	}
	return parentHead, commitHead, nil
}

func revertMessage(id objects.ID, c *objects.Commit) string {
	subject, _, _ := strings.Cut(c.Message, "\n")
	return fmt.Sprintf("Revert %q\n\nThis reverts commit %s.\n", subject, id)
}
