package main

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
)

// maxCompletions bounds what one completion lists, so a tab on a large
// repository stays instant.
const maxCompletions = 200

// What each command's arguments are, for shell completion ('folio
// completion bash|zsh|fish|powershell'). Commands not named here complete
// files, the shell's default.
var (
	keyArgCommands      = []string{"get", "rm", "mv", "ls", "resolve"}
	revisionArgCommands = []string{"log", "switch", "merge", "cherry-pick", "revert", "diff", "branch", "tag"}
	remoteArgCommands   = []string{"fetch", "pull", "push"}
)

// setCompletions attaches completion of keys, revisions and remotes to the
// commands that take them.
func setCompletions(root *cobra.Command, a *app) {
	for _, c := range root.Commands() {
		switch name := c.Name(); {
		case slices.Contains(keyArgCommands, name):
			c.ValidArgsFunction = a.completeKeys
		case slices.Contains(revisionArgCommands, name):
			c.ValidArgsFunction = a.completeRevisions
		case slices.Contains(remoteArgCommands, name):
			c.ValidArgsFunction = a.completeRemotes
		}
		for _, flag := range []string{"rev", "delete", "force-delete"} {
			if c.Flags().Lookup(flag) != nil && c.Flags().Lookup(flag).Value.Type() == "string" {
				c.RegisterFlagCompletionFunc(flag, a.completeRevisions)
			}
		}
	}
}

// completeKeys offers the staged keys under what was typed, one folder
// level at a time, as a shell completes paths.
func (a *app) completeKeys(cmd *cobra.Command, _ []string, typed string) ([]string, cobra.ShellCompDirective) {
	var out []string
	a.completeWith(cmd.Context(), func(ctx context.Context, r *repo.Repo) error {
		index, _, err := a.snapshot(ctx, r, "")
		if err != nil {
			return err
		}
		after := ""
		for len(out) < maxCompletions {
			next := ""
			err := r.Tree().Iterate(ctx, index, typed, after, func(key string, _ objects.Entry) error {
				next = key
				if i := strings.IndexByte(key[len(typed):], '/'); i >= 0 {
					next = key[:len(typed)+i+1]
				}
				return prolly.ErrStop
			})
			if err != nil || next == "" {
				return err
			}
			out = append(out, next)
			// Skip the rest of a folder: no UTF-8 key continues with 0xff.
			after = next + "\xff"
		}
		return nil
	})
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// completeRevisions offers HEAD, branches, tags and remote-tracking
// branches.
func (a *app) completeRevisions(cmd *cobra.Command, _ []string, typed string) ([]string, cobra.ShellCompDirective) {
	out := []string{}
	if strings.HasPrefix("HEAD", typed) {
		out = append(out, "HEAD")
	}
	a.completeWith(cmd.Context(), func(ctx context.Context, r *repo.Repo) error {
		for _, prefix := range []string{objects.BranchPrefix, objects.TagPrefix, objects.RemotePrefix} {
			refs, err := r.Store().Refs(ctx, prefix)
			if err != nil {
				return err
			}
			for _, ref := range refs {
				if name := strings.TrimPrefix(ref.Name, prefix); strings.HasPrefix(name, typed) && len(out) < maxCompletions {
					out = append(out, name)
				}
			}
		}
		return nil
	})
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeRemotes offers the remotes' names, then their branches.
func (a *app) completeRemotes(cmd *cobra.Command, args []string, typed string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return a.completeRevisions(cmd, args, typed)
	}
	var out []string
	if f, err := a.openFiles(); err == nil {
		if list, err := remote.List(f); err == nil {
			for _, rm := range list {
				if strings.HasPrefix(rm.Name, typed) {
					out = append(out, rm.Name)
				}
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeWith runs fn on the repository opened read-only without waiting:
// a completion offers nothing rather than hang or print an error.
func (a *app) completeWith(ctx context.Context, fn func(context.Context, *repo.Repo) error) {
	dir, err := a.repoDir()
	if err != nil {
		return
	}
	r, err := repo.Open(ctx, dir, repo.Options{ReadOnly: true})
	if err != nil {
		return
	}
	defer r.Close()
	fn(ctx, r)
}
