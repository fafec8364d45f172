package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
	"github.com/spf13/cobra"
)

func newStatusCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the current branch and its staged changes",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepo(cmd.Context(), false, func(r *repo.Repo) error {
				ctx := cmd.Context()
				s, err := r.CurrentStaged(ctx)
				if err != nil {
					return err
				}
				headIndex, headConflicts, err := r.BaseMaps(ctx, s)
				if err != nil {
					return err
				}
				changes, err := diffMaps(ctx, r, headIndex, s.Index, nil)
				if err != nil {
					return err
				}
				var conflicts []string
				err = r.Tree().Iterate(ctx, s.Conflicts, "", "", func(key string, _ objects.Entry) error {
					conflicts = append(conflicts, key)
					return nil
				})
				if err != nil {
					return err
				}
				resolved, err := diffMaps(ctx, r, headConflicts, s.Conflicts, nil)
				if err != nil {
					return err
				}
				return a.printStatus(statusReport{
					Branch: strings.TrimPrefix(s.Branch, objects.BranchPrefix), Head: s.Head,
					Stale: s.Stale(), Merging: s.MergeHead, Staged: changes,
					Conflicts: conflicts, ConflictChanges: resolved,
				})
			})
		},
	}
}

type statusReport struct {
	Branch          string
	Head            objects.ID
	Stale           bool
	Merging         objects.ID
	Staged          []prolly.Change
	Conflicts       []string
	ConflictChanges []prolly.Change
}

func (a *app) printStatus(st statusReport) error {
	if a.jsonOut {
		staged := make([]docChange, 0, len(st.Staged))
		for _, c := range st.Staged {
			staged = append(staged, describeChange(c))
		}
		out := map[string]any{
			"branch": st.Branch, "staged": staged, "conflicts": nonNil(st.Conflicts), "stale": st.Stale,
		}
		if !st.Head.IsZero() {
			out["head"] = st.Head
		}
		if !st.Merging.IsZero() {
			out["merging"] = st.Merging
		}
		return a.printJSON(out)
	}
	a.printf("On branch %s\n", st.Branch)
	if st.Head.IsZero() {
		a.printf("\nNo commits yet\n")
	}
	if st.Stale {
		a.printf("\nThe branch moved to %s after these changes were staged;\n  commit is refused until you run 'folio reset' and stage them again.\n", st.Head.Short())
	}
	if !st.Merging.IsZero() {
		a.printf("\nMerging %s: commit to conclude the merge.\n", st.Merging.Short())
	}
	if len(st.Staged) == 0 && len(st.ConflictChanges) == 0 {
		a.printf("\nnothing staged\n")
	} else if len(st.Staged) > 0 {
		a.printf("\nChanges staged for commit:\n")
		for _, c := range st.Staged {
			d := describeChange(c)
			a.printf("  %-9s %s\n", d.Change+":", c.Key)
		}
	}
	for _, c := range st.ConflictChanges {
		if c.To.ID.IsZero() {
			a.printf("  resolved: %s\n", c.Key)
		}
	}
	if len(st.Conflicts) > 0 {
		a.printf("\nRecorded conflicts (see 'folio conflicts'):\n")
		for _, k := range st.Conflicts {
			a.printf("  %s\n", k)
		}
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func newDiffCommand(a *app) *cobra.Command {
	var nameOnly bool
	cmd := &cobra.Command{
		Use:   "diff [REV [REV]] [-- KEY...]",
		Short: "Show changes between the staged state and revisions",
		Long: `Show document changes: with no REV, from HEAD to the staged state; with one
REV, from REV to the staged state; with two, from the first to the second.
After --, only the given keys (or prefixes) are compared.

Text documents get a unified line diff; JSON documents a per-path diff
(+ added, - removed, ~ replaced, at RFC 6901 paths); binary documents a note.`,
		Args: func(cmd *cobra.Command, args []string) error {
			revs := args
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				revs = args[:dash]
			}
			if len(revs) > 2 {
				return usagef("diff takes at most two revisions")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			revs, keys := args, []string(nil)
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				revs, keys = args[:dash], args[dash:]
			}
			return a.withRepo(cmd.Context(), false, func(r *repo.Repo) error {
				ctx := cmd.Context()
				var from, to objects.ID
				var err error
				switch len(revs) {
				case 0:
					if from, err = indexAt(ctx, r, "HEAD", true); err != nil {
						return err
					}
					to, _, err = a.snapshot(ctx, r, "")
				case 1:
					if from, err = indexAt(ctx, r, revs[0], false); err != nil {
						return err
					}
					to, _, err = a.snapshot(ctx, r, "")
				case 2:
					if from, err = indexAt(ctx, r, revs[0], false); err != nil {
						return err
					}
					to, err = indexAt(ctx, r, revs[1], false)
				}
				if err != nil {
					return err
				}
				changes, err := diffMaps(ctx, r, from, to, keys)
				if err != nil {
					return err
				}
				if a.jsonOut {
					out, err := jsonChanges(ctx, r, changes)
					if err != nil {
						return err
					}
					return a.printJSON(out)
				}
				if nameOnly {
					for _, c := range changes {
						a.printf("%s\n", c.Key)
					}
					return nil
				}
				return writeDiff(ctx, a.stdout, r, changes)
			})
		},
	}
	cmd.Flags().BoolVar(&nameOnly, "name-only", false, "list the changed keys only")
	return cmd
}

// indexAt returns the index root of a revision. With unbornOK, HEAD of a
// branch without commits is the empty index.
func indexAt(ctx context.Context, r *repo.Repo, rev string, unbornOK bool) (objects.ID, error) {
	id, err := r.ResolveRevision(ctx, rev)
	if err != nil {
		if unbornOK && errors.Is(err, repo.ErrNoCommits) {
			return objects.ID{}, nil
		}
		return objects.ID{}, err
	}
	c, err := r.ReadCommit(ctx, id)
	if err != nil {
		return objects.ID{}, err
	}
	return c.Index, nil
}

func newCommitCommand(a *app) *cobra.Command {
	var message string
	cmd := &cobra.Command{
		Use:   "commit -m MSG",
		Short: "Record the staged changes as a new commit",
		Long: `Record the staged changes of the current branch as a new commit. The author
is user.name and user.email (or $FOLIO_AUTHOR_NAME and $FOLIO_AUTHOR_EMAIL);
the author date is now (or $FOLIO_AUTHOR_DATE, RFC 3339). The commit time,
which decides who wins a conflict, is always this machine's clock (and never
earlier than the parent's): setting the author date does not change it.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(message) == "" {
				return usagef("commit needs a message: folio commit -m MSG")
			}
			return a.withRepo(cmd.Context(), true, func(r *repo.Repo) error {
				branch, err := r.HeadRef()
				if err != nil {
					return err
				}
				sig, when, err := authorAndTime(r)
				if err != nil {
					return err
				}
				id, err := r.Commit(cmd.Context(), branch, repo.CommitOptions{Message: message, Author: sig, Time: when})
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(map[string]any{"id": id, "branch": strings.TrimPrefix(branch, objects.BranchPrefix)})
				}
				a.printf("[%s %s] %s\n", strings.TrimPrefix(branch, objects.BranchPrefix), id.Short(), firstLine(message))
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&message, "message", "m", "", "the commit message")
	return cmd
}

func newResetCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "reset",
		Short: "Drop the staged changes of the current branch",
		Long: `Drop everything staged on the current branch, including a merge waiting to be
committed. Commits are not touched. Staged changes are the only copy of what
was staged (folio has no working folder), so reset says what it dropped.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepo(cmd.Context(), true, func(r *repo.Repo) error {
				ctx := cmd.Context()
				s, err := r.CurrentStaged(ctx)
				if err != nil {
					return err
				}
				headIndex, _, err := r.BaseMaps(ctx, s)
				if err != nil {
					return err
				}
				dropped, err := diffMaps(ctx, r, headIndex, s.Index, nil)
				if err != nil {
					return err
				}
				if err := r.ResetStaged(ctx, s.Branch); err != nil {
					return fmt.Errorf("reset: %w", err)
				}
				if a.jsonOut {
					return a.printJSON(map[string]any{"dropped": len(dropped), "merge": !s.MergeHead.IsZero()})
				}
				switch {
				case !s.HasChanges():
					a.printf("nothing staged\n")
				default:
					for _, c := range dropped {
						a.notef("dropped staged %s: %s", describeChange(c).Change, c.Key)
					}
					if !s.MergeHead.IsZero() {
						a.notef("dropped the pending merge of %s", s.MergeHead.Short())
					}
				}
				return nil
			})
		},
	}
}
