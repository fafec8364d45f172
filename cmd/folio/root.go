package main

import (
	"github.com/spf13/cobra"
)

// newRootCommand builds the command tree with cmds under the root.
func newRootCommand(a *app, cmds []command) *cobra.Command {
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
		// --version prints what 'folio version' prints first.
		Version: version,
	}
	root.SetVersionTemplate("folio {{.Version}}\n")
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
	for _, c := range cmds {
		cmd := c.build(a)
		cmd.GroupID = c.group
		root.AddCommand(cmd)
	}
	setCompletions(root, a)
	root.SetHelpCommandGroupID("repo")
	root.SetCompletionCommandGroupID("repo")
	// A tree of the one command a run names needs no completion command,
	// which cobra would otherwise build with its four shells' flags.
	root.CompletionOptions.DisableDefaultCmd = len(cmds) < len(commands)
	return root
}

// command is one of folio's commands: its name, its help group and how to
// build it.
type command struct {
	name, group string
	build       func(*app) *cobra.Command
}

// instant says whether c finishes in a moment without a repository, so
// that Ctrl-C may just end it, as it ends git's (see catchesSignals).
func (c command) instant() bool { return c.name == "version" || c.name == "merge-file" }

// commands are folio's commands, in the order help lists them.
var commands = []command{
	{"init", "repo", newInitCommand},
	{"config", "repo", newConfigCommand},
	{"put", "docs", newPutCommand},
	{"get", "docs", newGetCommand},
	{"rm", "docs", newRmCommand},
	{"mv", "docs", newMvCommand},
	{"ls", "docs", newLsCommand},
	{"import", "docs", newImportCommand},
	{"export", "docs", newExportCommand},
	{"status", "history", newStatusCommand},
	{"diff", "history", newDiffCommand},
	{"commit", "history", newCommitCommand},
	{"reset", "history", newResetCommand},
	{"log", "history", newLogCommand},
	{"show", "history", newShowCommand},
	{"branch", "history", newBranchCommand},
	{"switch", "history", newSwitchCommand},
	{"tag", "history", newTagCommand},
	{"merge", "history", newMergeCommand},
	{"cherry-pick", "history", func(a *app) *cobra.Command { return newPickCommand(a, false) }},
	{"revert", "history", func(a *app) *cobra.Command { return newPickCommand(a, true) }},
	{"conflicts", "history", newConflictsCommand},
	{"resolve", "history", newResolveCommand},
	{"merge-file", "history", newMergeFileCommand},
	{"remote", "sync", newRemoteCommand},
	{"clone", "sync", newCloneCommand},
	{"fetch", "sync", newFetchCommand},
	{"pull", "sync", newPullCommand},
	{"push", "sync", newPushCommand},
	{"sync", "sync", newSyncCommand},
	{"serve", "sync", newServeCommand},
	{"watch", "sync", newWatchCommand},
	{"login", "sync", newLoginCommand},
	{"fsck", "repo", newFsckCommand},
	{"stats", "repo", newStatsCommand},
	{"gc", "repo", newGCCommand},
	{"version", "repo", newVersionCommand},
}

// commandsFor is the commands a run with args needs. When the first
// argument names a command, that command alone: building the other
// thirty-odd commands, their flags and completions is most of the CLI's
// start-up, and a merge driver or a script pays it on every call. Any other
// first argument (help, completion, a flag, a typo that earns a
// suggestion) gets them all.
func commandsFor(args []string) []command {
	if len(args) > 0 {
		for _, c := range commands {
			if c.name == args[0] {
				return []command{c}
			}
		}
	}
	return commands
}

// catchesSignals says whether a run of cmds turns Ctrl-C and SIGTERM into
// a cancelled context, so that a command stops cleanly (a store closed, a
// server drained). A run of one instant command does not: os/signal's
// watcher blocks a thread of its own, and starting it and the threads it
// wakes is three clones, ~0.9 ms of the 14 ms `folio version` took on the
// 2-core test machine, paid on every call of a merge driver.
func catchesSignals(cmds []command) bool {
	return len(cmds) != 1 || !cmds[0].instant()
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
