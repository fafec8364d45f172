package main

import (
	"github.com/spf13/cobra"
)

func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "folio",
		Short: "A versioned document store where every clone is a leader",
		Long: `folio keeps documents (JSON, text or binary) under keys, with Git-like history:
commits, branches, tags, diffs and three-way merges. Every clone is a full
leader: it takes writes offline and exchanges what the other side lacks over
HTTP. Conflicts never block: they are recorded with a deterministic winner.

The repository is found like Git's: --repo, then $FOLIO_DIR, then a .folio
folder in the current folder or a parent.

` + exitCodesHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	root.PersistentFlags().StringVar(&a.repoFlag, "repo", "", "path of the repository (or its .folio folder)")
	root.PersistentFlags().BoolVar(&a.jsonOut, "json", false, "print results as JSON, for scripts")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef("%v", err)
	})
	root.AddGroup(
		&cobra.Group{ID: "docs", Title: "Documents:"},
		&cobra.Group{ID: "history", Title: "History:"},
		&cobra.Group{ID: "sync", Title: "Replication:"},
		&cobra.Group{ID: "repo", Title: "Repository:"},
	)
	for _, c := range []struct {
		group string
		cmd   *cobra.Command
	}{
		{"repo", newInitCommand(a)},
		{"repo", newConfigCommand(a)},
		{"docs", newPutCommand(a)},
		{"docs", newGetCommand(a)},
		{"docs", newRmCommand(a)},
		{"docs", newMvCommand(a)},
		{"docs", newLsCommand(a)},
		{"docs", newImportCommand(a)},
		{"docs", newExportCommand(a)},
		{"history", newStatusCommand(a)},
		{"history", newDiffCommand(a)},
		{"history", newCommitCommand(a)},
		{"history", newResetCommand(a)},
		{"history", newLogCommand(a)},
		{"history", newShowCommand(a)},
		{"history", newBranchCommand(a)},
		{"history", newSwitchCommand(a)},
		{"history", newTagCommand(a)},
		{"history", newMergeCommand(a)},
		{"history", newConflictsCommand(a)},
		{"history", newResolveCommand(a)},
		{"history", newMergeFileCommand(a)},
		{"sync", newRemoteCommand(a)},
		{"sync", newCloneCommand(a)},
		{"sync", newFetchCommand(a)},
		{"sync", newPullCommand(a)},
		{"sync", newPushCommand(a)},
		{"sync", newSyncCommand(a)},
		{"sync", newServeCommand(a)},
		{"sync", newLoginCommand(a)},
		{"repo", newFsckCommand(a)},
		{"repo", newStatsCommand(a)},
		{"repo", newGCCommand(a)},
		{"repo", newVersionCommand(a)},
	} {
		c.cmd.GroupID = c.group
		root.AddCommand(c.cmd)
	}
	root.SetHelpCommandGroupID("repo")
	root.SetCompletionCommandGroupID("repo")
	return root
}

// exactArgs, rangeArgs and minArgs are cobra's checks, reporting usage errors.
func exactArgs(n int) cobra.PositionalArgs {
	return wrapArgs(cobra.ExactArgs(n))
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return wrapArgs(cobra.RangeArgs(lo, hi))
}

func minArgs(n int) cobra.PositionalArgs {
	return wrapArgs(cobra.MinimumNArgs(n))
}

func wrapArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usagef("%s: %v", cmd.CommandPath(), err)
		}
		return nil
	}
}
