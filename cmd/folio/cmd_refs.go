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

func newBranchCommand(a *app) *cobra.Command {
	var del, forceDel string
	var rename, force bool
	cmd := &cobra.Command{
		Use:   "branch [NAME [REV]] [-f NAME [REV]] [-d NAME] [-m [OLD] NEW]",
		Short: "List, create or delete branches",
		Long: `With no arguments, list branches (the current one marked with *). With NAME,
create a branch at REV (default HEAD) without switching to it. With -d NAME,
delete a branch that is merged into the current branch and has nothing
staged; -D NAME deletes it whatever it holds. The current branch cannot be
deleted. With -m OLD NEW, rename a branch with its staged changes (-m NEW
renames the current branch). With -f NAME REV, point a branch at REV (default
HEAD) whatever it held, backwards too; it prints where the branch was, so the
commits it leaves can be found again.`,
		Args: rangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if del != "" && forceDel != "" {
				return usagef("branch: -d or -D, not both")
			}
			switch {
			case force:
				if len(args) == 0 || rename || del != "" || forceDel != "" {
					return usagef("branch -f takes NAME [REV]")
				}
				return a.withRepo(ctx, true, func(r *repo.Repo) error {
					to, err := r.ResolveRevision(ctx, argOr(args, 1, "HEAD"))
					if err != nil {
						return err
					}
					from, err := r.MoveBranch(ctx, args[0], to)
					if err != nil {
						return err
					}
					if a.jsonOut {
						return a.printJSON(refChangeJSON{Branch: args[0], Commit: to, Was: from})
					}
					if !from.IsZero() && from != to {
						a.printf("Moved branch %s from %s to %s\n", args[0], from.Short(), to.Short())
					}
					return nil
				})
			case rename:
				if len(args) == 0 || del != "" || forceDel != "" {
					return usagef("branch -m takes [OLD] NEW")
				}
				return a.withRepo(ctx, true, func(r *repo.Repo) error {
					from := args[0]
					if len(args) == 1 {
						current, err := r.CurrentBranch()
						if err != nil {
							return err
						}
						from = current
					}
					to := args[len(args)-1]
					if err := r.RenameBranch(ctx, from, to); err != nil {
						return err
					}
					if a.jsonOut {
						return a.printJSON(refChangeJSON{Branch: to, From: from})
					}
					a.printf("Renamed branch %s to %s\n", from, to)
					return nil
				})
			case del != "" || forceDel != "":
				if len(args) > 0 {
					return usagef("branch -d takes no other arguments")
				}
				return a.withRepo(ctx, true, func(r *repo.Repo) error {
					if del != "" {
						if err := checkDeletable(ctx, r, del); err != nil {
							return err
						}
					} else {
						del = forceDel
					}
					id, err := r.DeleteBranch(ctx, del)
					if err != nil {
						return err
					}
					if a.jsonOut {
						return a.printJSON(refChangeJSON{Branch: del, Commit: id, Deleted: true})
					}
					a.printf("Deleted branch %s (was %s).\n", del, id.Short())
					return nil
				})
			case len(args) > 0:
				return a.withRepo(ctx, true, func(r *repo.Repo) error {
					at, err := r.ResolveRevision(ctx, argOr(args, 1, "HEAD"))
					if err != nil {
						return err
					}
					if err := r.CreateBranch(ctx, args[0], at); err != nil || !a.jsonOut {
						return err
					}
					return a.printJSON(refChangeJSON{Branch: args[0], Commit: at})
				})
			}
			return a.withRepo(ctx, false, func(r *repo.Repo) error {
				branches, err := r.Branches(ctx)
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(branches)
				}
				for _, b := range branches {
					mark := " "
					if b.Current {
						mark = "*"
					}
					a.printf("%s %s\n", mark, b.Name)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&del, "delete", "d", "", "delete branch `NAME` if it is merged and has nothing staged")
	cmd.Flags().StringVarP(&forceDel, "force-delete", "D", "", "delete branch `NAME` whatever it holds")
	cmd.Flags().BoolVarP(&rename, "move", "m", false, "rename a branch: -m [OLD] NEW")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "point branch NAME at REV whatever it held: -f NAME [REV]")
	return cmd
}

// checkDeletable refuses to delete a branch whose commits or staged changes
// exist nowhere else, as git branch -d does.
func checkDeletable(ctx context.Context, r *repo.Repo, name string) error {
	ref := objects.BranchPrefix + name
	id, err := r.Store().Ref(ctx, ref)
	if err != nil {
		return fmt.Errorf("branch %q: %w", name, err)
	}
	staged, err := r.LoadStaged(ctx, ref)
	if err != nil {
		return err
	}
	if staged.HasChanges() {
		return fmt.Errorf("branch %s has staged changes; use -D to delete them with it", name)
	}
	current, err := r.HeadRef()
	if err != nil {
		return err
	}
	head, err := r.RefOrZero(ctx, current)
	if err != nil {
		return err
	}
	merged := false
	if !head.IsZero() {
		if merged, err = merge.IsAncestor(ctx, r, id, head); err != nil {
			return err
		}
	}
	if !merged {
		return fmt.Errorf("branch %s is not merged into %s; use -D to delete it anyway", name, strings.TrimPrefix(current, objects.BranchPrefix))
	}
	return nil
}

func newSwitchCommand(a *app) *cobra.Command {
	var create bool
	cmd := &cobra.Command{
		Use:   "switch [-c] BRANCH",
		Short: "Make another branch current",
		Long: `Make BRANCH the current branch; with -c, create it at the current head first.
Staged changes belong to their branch: they stay there and come back when you
switch back.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepo(cmd.Context(), true, func(r *repo.Repo) error {
				if err := r.Switch(cmd.Context(), args[0], create); err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(refChangeJSON{Branch: args[0]})
				}
				a.printf("Switched to branch %s\n", args[0])
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&create, "create", "c", false, "create the branch first")
	return cmd
}

func newTagCommand(a *app) *cobra.Command {
	var del bool
	cmd := &cobra.Command{
		Use:   "tag [NAME [REV]] [-d NAME...]",
		Short: "List tags, tag a revision, or delete tags",
		Long: `With no arguments, list tags. With NAME, tag REV (default HEAD). Tags never
move; -d NAME deletes a tag (a tag already pushed stays on the remote).`,
		Args: rangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if del {
				if len(args) == 0 {
					return usagef("tag -d takes the names of the tags to delete")
				}
				return a.withRepo(ctx, true, func(r *repo.Repo) error {
					var deleted []refChangeJSON
					for _, name := range args {
						id, err := r.DeleteTag(ctx, name)
						if err != nil {
							return err
						}
						deleted = append(deleted, refChangeJSON{Tag: name, Commit: id, Deleted: true})
						if !a.jsonOut {
							a.printf("Deleted tag %s (was %s)\n", name, id.Short())
						}
					}
					if a.jsonOut {
						return a.printJSON(deleted)
					}
					return nil
				})
			}
			if len(args) == 0 {
				return a.withRepo(ctx, false, func(r *repo.Repo) error {
					tags, err := r.Tags(ctx)
					if err != nil {
						return err
					}
					if a.jsonOut {
						out := []map[string]any{}
						for _, t := range tags {
							out = append(out, map[string]any{"name": strings.TrimPrefix(t.Name, objects.TagPrefix), "commit": t.ID})
						}
						return a.printJSON(out)
					}
					for _, t := range tags {
						a.printf("%s\n", strings.TrimPrefix(t.Name, objects.TagPrefix))
					}
					return nil
				})
			}
			return a.withRepo(ctx, true, func(r *repo.Repo) error {
				at, err := r.ResolveRevision(ctx, argOr(args, 1, "HEAD"))
				if err != nil {
					return err
				}
				if err := r.CreateTag(ctx, args[0], at); err != nil || !a.jsonOut {
					return err
				}
				return a.printJSON(refChangeJSON{Tag: args[0], Commit: at})
			})
		},
	}
	cmd.Flags().BoolVarP(&del, "delete", "d", false, "delete the named tags")
	return cmd
}

// argOr returns args[i], or def when there are not that many arguments.
func argOr(args []string, i int, def string) string {
	if i < len(args) {
		return args[i]
	}
	return def
}

// refChangeJSON is the --json output of a command that creates, renames,
// deletes or switches to a branch or tag.
type refChangeJSON struct {
	Branch  string     `json:"branch,omitempty"`
	Tag     string     `json:"tag,omitempty"`
	From    string     `json:"from,omitempty"` // the old name, for a rename
	Commit  objects.ID `json:"commit,omitzero"`
	Was     objects.ID `json:"was,omitzero"` // where a moved branch pointed before
	Deleted bool       `json:"deleted,omitempty"`
}
