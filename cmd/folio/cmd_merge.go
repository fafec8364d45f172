package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/spf13/cobra"
)

func newMergeCommand(a *app) *cobra.Command {
	var noCommit bool
	var message string
	cmd := &cobra.Command{
		Use:   "merge REV",
		Short: "Merge a revision into the current branch",
		Long: `Merge REV into the current branch: a fast-forward when the branch is behind,
else a three-way merge (line diff3 for text, per-key for JSON). Conflicts do
not stop the merge: each conflicting document takes the winning side's version
of its conflicting parts (the side whose head commit is newer), and a conflict
record keeps all three versions. See them with 'folio conflicts', settle them
with 'folio resolve'.

With --no-commit the merge is staged; 'folio commit' concludes it.
Exit status 3 when conflicts were recorded.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepoMerging(cmd.Context(), func(r *repo.Repo) error {
				return a.merge(cmd.Context(), r, args[0], message, noCommit)
			})
		},
	}
	cmd.Flags().BoolVar(&noCommit, "no-commit", false, "stage the merge instead of committing it")
	cmd.Flags().StringVarP(&message, "message", "m", "", "the merge commit's message")
	return cmd
}

func (a *app) merge(ctx context.Context, r *repo.Repo, rev, message string, noCommit bool) error {
	staged, err := r.CurrentStaged(ctx)
	if err != nil {
		return err
	}
	branch := staged.Branch
	if staged.HasChanges() {
		return fmt.Errorf("%w: commit them or drop them with 'folio reset' before merging", repo.ErrStagedChanges)
	}
	ours := staged.Head
	if ours.IsZero() {
		return repo.ErrNoCommits
	}
	theirs, err := r.ResolveRevision(ctx, rev)
	if err != nil {
		return err
	}
	res, err := merge.Heads(ctx, r, ours, theirs)
	if err != nil {
		return err
	}
	short := strings.TrimPrefix(branch, objects.BranchPrefix)
	report := map[string]any{"branch": short, "ours": ours, "theirs": theirs}
	switch res.Relation {
	case merge.UpToDate:
		report["result"] = "up-to-date"
		return a.mergeDone(report, "Already up to date.", nil)
	case merge.FastForward:
		if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: branch, Old: ours, New: theirs}); err != nil {
			return err
		}
		report["result"], report["head"] = "fast-forward", theirs
		return a.mergeDone(report, fmt.Sprintf("Fast-forward %s..%s", ours.Short(), theirs.Short()), nil)
	}
	if message == "" {
		message = fmt.Sprintf("Merge %s into %s", rev, short)
	}
	report["conflicts"] = nonNil(res.Conflicted)
	if noCommit {
		_, err := r.Stage(ctx, branch, func(s *repo.Staged) error {
			s.Index, s.Conflicts, s.MergeHead, s.MergeMessage = res.Index, res.Conflicts, theirs, message
			return nil
		})
		if err != nil {
			return err
		}
		report["result"] = "staged"
		return a.mergeDone(report, "Merge staged; run 'folio commit' to conclude it.", res.Conflicted)
	}
	sig, when, err := authorAndTime(r)
	if err != nil {
		return err
	}
	id, err := merge.Commit(ctx, r, res, merge.CommitOptions{Author: sig, Time: when, Message: message})
	if err != nil {
		return err
	}
	if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: branch, Old: ours, New: id}); err != nil {
		return err
	}
	report["result"], report["head"] = "merged", id
	return a.mergeDone(report, fmt.Sprintf("Merged %s into %s: %s", rev, short, id.Short()), res.Conflicted)
}

// mergeDone prints what a merge, cherry-pick or revert did (report as
// JSON, or summary and its conflicts) and exits 3 if it recorded any.
func (a *app) mergeDone(report any, summary string, conflicts []merge.Conflicted) error {
	if a.jsonOut {
		if err := a.printJSON(report); err != nil {
			return err
		}
	} else {
		a.printf("%s\n", summary)
		for _, c := range conflicts {
			a.printf("CONFLICT %s at %s: the %s version stands\n", c.Key, describePaths(c.Paths), c.Winner)
		}
	}
	if len(conflicts) > 0 {
		return &conflictsRecorded{len(conflicts)}
	}
	return nil
}

func describePaths(paths []string) string {
	var out []string
	for _, p := range paths {
		if p == "" {
			p = "the whole document"
		}
		out = append(out, p)
	}
	return strings.Join(out, ", ")
}

// describeCommit names a merge side for people: its short ID and author,
// since after a sync "ours" is simply the side with the smaller ID.
func describeCommit(ctx context.Context, r *repo.Repo, id objects.ID) string {
	c, err := r.ReadCommit(ctx, id)
	if err != nil {
		return id.Short()
	}
	return fmt.Sprintf("%s (%s)", id.Short(), c.Author.Name)
}

// conflictJSON is a recorded conflict in --json output.
type conflictJSON struct {
	Key          string       `json:"key"`
	Paths        []string     `json:"paths"`
	Winner       objects.Side `json:"winner"`
	OursCommit   objects.ID   `json:"ours_commit"`
	TheirsCommit objects.ID   `json:"theirs_commit"`
	Base         *objects.ID  `json:"base,omitempty"`
	Ours         *objects.ID  `json:"ours,omitempty"`
	Theirs       *objects.ID  `json:"theirs,omitempty"`
}

func idOrNil(e objects.Entry) *objects.ID {
	if e.ID.IsZero() {
		return nil
	}
	return &e.ID
}

// readConflict loads the conflict record of key from a conflicts map.
func readConflict(ctx context.Context, r *repo.Repo, conflicts objects.ID, key string) (*objects.Conflict, error) {
	e, ok, err := r.Tree().Get(ctx, conflicts, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: no recorded conflict for %s", objects.ErrNotFound, key)
	}
	data, err := r.Store().Get(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	return objects.DecodeConflict(data)
}

func newConflictsCommand(a *app) *cobra.Command {
	var rev string
	cmd := &cobra.Command{
		Use:   "conflicts [PREFIX]",
		Short: "List recorded conflicts",
		Long: `List the conflicts recorded on the current branch (or at --rev): each
document, where it conflicted (JSON pointers or line ranges), and which side's
version stands.`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := argOr(args, 0, "")
			return a.withRepo(cmd.Context(), false, func(r *repo.Repo) error {
				ctx := cmd.Context()
				_, conflicts, err := a.snapshot(ctx, r, rev)
				if err != nil {
					return err
				}
				out := []conflictJSON{}
				err = r.Tree().Iterate(ctx, conflicts, prefix, "", func(key string, _ objects.Entry) error {
					c, err := readConflict(ctx, r, conflicts, key)
					if err != nil {
						return err
					}
					out = append(out, conflictJSON{Key: key, Paths: nonNil(c.Paths), Winner: c.Winner,
						OursCommit: c.OursCommit, TheirsCommit: c.TheirsCommit,
						Base: idOrNil(c.Base), Ours: idOrNil(c.Ours), Theirs: idOrNil(c.Theirs)})
					return nil
				})
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(out)
				}
				if len(out) == 0 {
					a.notef("no recorded conflicts")
				}
				for _, c := range out {
					a.printf("%s\t%s\tours %s, theirs %s; the %s version stands\n", c.Key, describePaths(c.Paths),
						describeCommit(ctx, r, c.OursCommit), describeCommit(ctx, r, c.TheirsCommit), c.Winner)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&rev, "rev", "", "list the conflicts recorded at this revision")
	return cmd
}

func newResolveCommand(a *app) *cobra.Command {
	var ours, theirs, winner bool
	var file string
	cmd := &cobra.Command{
		Use:   "resolve KEY (--ours | --theirs | --winner | --file F | -)",
		Short: "Settle a recorded conflict",
		Long: `Settle the recorded conflict of document KEY with ours, theirs, the merged
version that stands now (--winner), the content of a file, or standard input
(-). The document and the removal of its conflict record are staged for the
next commit. Taking a side that deleted the document stages its deletion.`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			fromStdin := len(args) == 2 && args[1] == "-"
			if len(args) == 2 && !fromStdin {
				return usagef("resolve: unexpected argument %q", args[1])
			}
			choices := 0
			for _, c := range []bool{ours, theirs, winner, file != "", fromStdin} {
				if c {
					choices++
				}
			}
			if choices != 1 {
				return usagef("resolve needs exactly one of --ours, --theirs, --winner, --file F or -")
			}
			key := args[0]
			return a.withRepo(cmd.Context(), true, func(r *repo.Repo) error {
				ctx := cmd.Context()
				branch, err := r.HeadRef()
				if err != nil {
					return err
				}
				var content *repo.Edit
				if file != "" || fromStdin {
					e, err := a.readDocumentArg(ctx, r, file)
					if err != nil {
						return err
					}
					content = &repo.Edit{Key: key, Entry: e}
				}
				_, err = r.Stage(ctx, branch, func(s *repo.Staged) error {
					rec, err := readConflict(ctx, r, s.Conflicts, key)
					if err != nil {
						return err
					}
					edit := repo.Edit{Key: key}
					switch {
					case content != nil:
						edit = *content
					case ours:
						edit.Entry = rec.Ours
					case theirs:
						edit.Entry = rec.Theirs
					case winner:
						current, ok, err := r.Tree().Get(ctx, s.Index, key)
						if err != nil {
							return err
						}
						edit.Entry, edit.Delete = current, !ok
					}
					edit.Delete = edit.Delete || edit.Entry.ID.IsZero()
					if s.Index, err = r.Tree().Edit(ctx, s.Index, []repo.Edit{edit}); err != nil {
						return err
					}
					s.Conflicts, err = r.Tree().Edit(ctx, s.Conflicts, []repo.Edit{{Key: key, Delete: true}})
					return err
				})
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(struct {
						Key      string `json:"key"`
						Resolved bool   `json:"resolved"`
					}{key, true})
				}
				a.printf("Resolved %s; 'folio commit' records it.\n", key)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&ours, "ours", false, "take our version")
	cmd.Flags().BoolVar(&theirs, "theirs", false, "take their version")
	cmd.Flags().BoolVar(&winner, "winner", false, "keep the merged version that stands now")
	cmd.Flags().StringVar(&file, "file", "", "take the content of file `F`")
	return cmd
}

// newPickCommand makes cherry-pick, or with revert, revert.
func newPickCommand(a *app, revert bool) *cobra.Command {
	use, short, long := "cherry-pick REV", "Apply the change a commit made to the current branch",
		`Apply the change REV made (against its parent) to the current branch, as a
new commit that keeps REV's author and message. It is a three-way merge:
conflicts are recorded, not stopped at, and the newer side's version stands
(see 'folio conflicts'; exit status 3).`
	if revert {
		use, short, long = "revert REV", "Undo the change a commit made, in a new commit",
			`Make a new commit on the current branch that undoes the change REV made
(against its parent). It is a three-way merge: where later commits changed the
same lines or fields, conflicts are recorded, not stopped at, and the newer
side's version stands (see 'folio conflicts'; exit status 3).`
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withRepoMerging(ctx, func(r *repo.Repo) error {
				picked, err := r.ResolveRevision(ctx, args[0])
				if err != nil {
					return err
				}
				sig, when, err := authorAndTime(r)
				if err != nil {
					return err
				}
				res, err := merge.Pick(ctx, r, picked, merge.PickOptions{Revert: revert, Author: sig, Time: when})
				if err != nil {
					return err
				}
				res.Conflicted = nonNil(res.Conflicted)
				verb := "Applied"
				if revert {
					verb = "Reverted"
				}
				return a.mergeDone(res, fmt.Sprintf("[%s %s] %s %s", res.Branch, res.Commit.Short(), verb, picked.Short()), res.Conflicted)
			})
		},
	}
}
