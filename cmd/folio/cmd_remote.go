package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/client"
	"github.com/spf13/cobra"
)

func newRemoteCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "remote",
		Short: "Manage the leaders this repository syncs with",
		Long: `Manage remotes: other leaders known by name and URL. Tokens for them come
from $FOLIO_TOKEN_<NAME> (the remote's name in upper case, '-' as '_'), then
$FOLIO_TOKEN, then those stored by 'folio login' for the remote's scheme, host,
port and path — never from the URL or the command line.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return a.listRemotes(cmd.Context()) },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "add NAME URL",
		Short: "Add a remote",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.openFiles()
			if err != nil {
				return err
			}
			return remote.Add(f, args[0], args[1])
		},
	}, &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"rm"},
		Short:   "Remove a remote and its remote-tracking branches",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepo(cmd.Context(), true, func(r *repo.Repo) error { return remote.Remove(cmd.Context(), r, args[0]) })
		},
	}, &cobra.Command{
		Use:   "set-url NAME URL",
		Short: "Point a remote at another URL",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.openFiles()
			if err != nil {
				return err
			}
			return remote.SetURL(f, args[0], args[1])
		},
	}, &cobra.Command{
		Use:   "rename OLD NEW",
		Short: "Rename a remote and its remote-tracking branches",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepo(cmd.Context(), true, func(r *repo.Repo) error { return remote.Rename(cmd.Context(), r, args[0], args[1]) })
		},
	}, &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List remotes",
		Args:    exactArgs(0),
		RunE:    func(cmd *cobra.Command, args []string) error { return a.listRemotes(cmd.Context()) },
	})
	return cmd
}

func (a *app) listRemotes(ctx context.Context) error {
	f, err := a.openFiles()
	if err != nil {
		return err
	}
	list, err := remote.List(f)
	if err != nil {
		return err
	}
	if a.jsonOut {
		return a.printJSON(nonNil(list))
	}
	for _, rm := range list {
		a.printf("%s\t%s\n", rm.Name, rm.URL)
	}
	return nil
}

func newLoginCommand(a *app) *cobra.Command {
	return a.timeoutFlag(&cobra.Command{
		Use:   "login URL",
		Short: "Check a token with a server and store it",
		Long: `Read a token from standard input, check it with the server at URL (a
repository's URL, or the root of a server of many), and if the server takes
it, store it for every remote whose URL starts with URL, in a file only you
can read ($FOLIO_CREDENTIALS, or credentials.json in your config folder).
A token the server refuses, or a server that does not answer, stores
nothing and exits 1. $FOLIO_TOKEN, when set, is used instead.`,
		Example: `  folio login https://folio.example.com/ < token.txt`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			line, err := bufio.NewReader(a.stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			token := strings.TrimSpace(line)
			if token == "" {
				return usagef("login reads the token from standard input")
			}
			cfg, err := repo.ReadConfigFile(repo.GlobalConfigPath())
			if err != nil {
				return err
			}
			opts, err := a.remoteOptions(cfg, nil)
			if err != nil {
				return err
			}
			info, err := remote.Login(cmd.Context(), args[0], token, opts)
			if err != nil {
				return fmt.Errorf("login %s: %w", args[0], err)
			}
			if a.jsonOut {
				return a.printJSON(info)
			}
			switch {
			case !info.Checked:
				a.printf("Stored the token for %s: the server asks for none.\n", args[0])
			default:
				repos := "repositories " + strings.Join(info.Repos, ", ")
				if slices.Contains(info.Repos, "*") {
					repos = "every repository"
				}
				a.printf("Logged in to %s as %s: %s, %s.\n", args[0], info.Name, info.Scope, repos)
			}
			return nil
		},
	})
}

func newCloneCommand(a *app) *cobra.Command {
	return a.timeoutFlag(&cobra.Command{
		Use:   "clone URL [DIR]",
		Short: "Make a new leader from a server's repository",
		Long: `Create DIR (default: the last part of URL) as a new repository with URL as
its remote "origin", fetch everything, and switch to the remote's default
branch. Every clone is a full leader.`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := cloneDir(args[0])
			if len(args) == 2 {
				dir = args[1]
			}
			cfg, err := repo.ReadConfigFile(repo.GlobalConfigPath())
			if err != nil {
				return err
			}
			progress := a.progress("cloning")
			opts, err := a.remoteOptions(cfg, progress.add)
			if err != nil {
				return err
			}
			r, rep, err := remote.Clone(cmd.Context(), args[0], dir, opts)
			progress.done()
			if err != nil {
				return err
			}
			defer r.Close()
			if a.jsonOut {
				return a.printJSON(rep)
			}
			a.printf("Cloned %s into %s (%d objects, %s), on branch %s\n", args[0], dir, rep.ObjectsReceived, humanBytes(rep.BytesReceived), rep.Branch)
			if rep.Note != "" {
				a.warnf("%s", rep.Note)
			}
			return nil
		},
	})
}

// timeoutFlag adds --timeout to a command that talks to remotes.
func (a *app) timeoutFlag(cmd *cobra.Command) *cobra.Command {
	cmd.Flags().DurationVar(&a.timeout, "timeout", 0,
		"give up on a remote that does not connect, answer or send more for this long (default: the "+
			remote.TimeoutKey+" setting, else "+client.DefaultTimeouts.Reply.String()+")")
	return cmd
}

// remoteOptions are the options of a command that talks to remotes, with
// the timeouts of --timeout or of the settings cfg.
func (a *app) remoteOptions(cfg repo.Config, progress func(int64)) (remote.Options, error) {
	t, err := remote.ConfiguredTimeouts(cfg, a.timeout)
	return remote.Options{Progress: progress, Timeouts: t}, err
}

// repoRemoteOptions is remoteOptions with the repository's settings.
func (a *app) repoRemoteOptions(r *repo.Repo, progress func(int64)) (remote.Options, error) {
	cfg, err := r.Config()
	if err != nil {
		return remote.Options{}, err
	}
	return a.remoteOptions(cfg, progress)
}

func cloneDir(url string) string {
	trimmed := strings.TrimRight(url, "/")
	if i := strings.LastIndex(trimmed, "/"); i >= 0 && i < len(trimmed)-1 && !strings.HasSuffix(trimmed[:i], ":/") {
		return trimmed[i+1:]
	}
	return "folio-clone"
}

// remotesFor resolves remote names (every remote when none are given).
func remotesFor(r *repo.Files, names []string) ([]remote.Remote, error) {
	if len(names) == 0 {
		all, err := remote.List(r)
		if err == nil && len(all) == 0 {
			err = fmt.Errorf("%w: this repository has none (folio remote add NAME URL)", remote.ErrNoRemote)
		}
		return all, err
	}
	var out []remote.Remote
	for _, n := range names {
		rm, err := remote.Lookup(r, n)
		if err != nil {
			return nil, err
		}
		out = append(out, rm)
	}
	return out, nil
}

func newFetchCommand(a *app) *cobra.Command {
	return a.timeoutFlag(&cobra.Command{
		Use:   "fetch [REMOTE]",
		Short: "Bring in a remote's commits without merging",
		Long: `Fetch the branches and tags of REMOTE (default: every remote) in one request,
and move the remote-tracking branches refs/remotes/REMOTE/*. A branch of
REMOTE's that is not here is made here, unless REMOTE still holds it where
refs/remotes/REMOTE/BRANCH said: that one was deleted here and stays deleted.`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepoWritableLater(cmd.Context(), func(lr *laterRepo) error {
				remotes, err := remotesFor(lr.r.Files, args)
				if err != nil {
					return err
				}
				var reports []*remote.Report
				for _, rm := range remotes {
					progress := a.progress("fetching " + rm.Name)
					opts, err := a.repoRemoteOptions(lr.r, progress.add)
					if err != nil {
						return err
					}
					opts.Writable = lr.writable
					rep, err := remote.Fetch(cmd.Context(), lr.r, rm, opts)
					progress.done()
					if err != nil {
						return fmt.Errorf("fetch %s: %w", rm.Name, err)
					}
					reports = append(reports, rep)
				}
				if a.jsonOut {
					return a.printJSON(reports)
				}
				for _, rep := range reports {
					a.printRefChanges(rep)
				}
				return nil
			})
		},
	})
}

func (a *app) printRefChanges(rep *remote.Report) {
	for _, u := range rep.Updated {
		switch {
		case u.Old.IsZero():
			a.printf(" * [new]      %s -> %s\n", u.Name, u.New.Short())
		case u.New.IsZero():
			a.printf(" - [deleted]  %s\n", u.Name)
		default:
			a.printf("   %s..%s  %s\n", u.Old.Short(), u.New.Short(), u.Name)
		}
	}
	a.notef("%s: %s, %s received, %s sent", rep.Remote, plural(rep.Requests, "request"), humanBytes(rep.BytesReceived), humanBytes(rep.BytesSent))
}

func newPushCommand(a *app) *cobra.Command {
	var lease string
	var leaseSet, del bool
	cmd := &cobra.Command{
		Use:   "push [REMOTE [BRANCH]] [--delete]",
		Short: "Send a branch to a remote (fast-forward only)",
		Long: `Send BRANCH (default: the current branch) to REMOTE (default: origin): the
refs listing, then one request. The remote moves its branch only if that is a
fast-forward. --force-with-lease replaces the remote branch whatever it holds,
as long as it still holds the value you name (default: what
refs/remotes/REMOTE/BRANCH says). --delete removes BRANCH from REMOTE (not the branch the remote's
repository is on).`,
		Args: rangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			leaseSet = cmd.Flags().Changed("force-with-lease")
			return a.withRepo(cmd.Context(), true, func(r *repo.Repo) error {
				ctx := cmd.Context()
				rm, branch, err := remoteAndBranch(r, args)
				if err != nil {
					return err
				}
				ropts, err := a.repoRemoteOptions(r, nil)
				if err != nil {
					return err
				}
				opts := remote.PushOptions{Options: ropts, Delete: del}
				if leaseSet && del {
					return usagef("push: --delete or --force-with-lease, not both")
				}
				if leaseSet {
					expected, err := leaseValue(ctx, r, rm.Name, branch, lease)
					if err != nil {
						return err
					}
					opts.Lease = map[string]objects.ID{branch: expected}
				}
				rep, err := remote.Push(ctx, r, rm, []string{branch}, opts)
				if err != nil {
					return fmt.Errorf("push %s: %w", rm.Name, err)
				}
				if a.jsonOut {
					return a.printJSON(rep)
				}
				if len(rep.Updated) == 0 {
					a.printf("Everything up to date\n")
				}
				a.printRefChanges(rep)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&lease, "force-with-lease", "", "replace the remote branch if it is at `REV` (default: the remote-tracking branch)")
	cmd.Flags().Lookup("force-with-lease").NoOptDefVal = "@tracking"
	cmd.Flags().BoolVar(&del, "delete", false, "remove the branch from the remote")
	return a.timeoutFlag(cmd)
}

// leaseValue is the commit a forced push expects to replace.
func leaseValue(ctx context.Context, r *repo.Repo, remoteName, branch, rev string) (objects.ID, error) {
	if rev == "@tracking" {
		return r.RefOrZero(ctx, remote.TrackingRef(remoteName, branch))
	}
	return r.ResolveRevision(ctx, rev)
}

// remoteAndBranch reads [REMOTE [BRANCH]] with origin and the current
// branch as defaults.
func remoteAndBranch(r *repo.Repo, args []string) (remote.Remote, string, error) {
	name := "origin"
	if len(args) > 0 {
		name = args[0]
	}
	rm, err := remote.Lookup(r.Files, name)
	if err != nil {
		return rm, "", err
	}
	branch, err := r.HeadRef()
	if len(args) > 1 {
		if err := objects.ValidateBranchName(args[1]); err != nil {
			return rm, "", err
		}
		branch = objects.BranchPrefix + args[1]
	}
	return rm, branch, err
}

func newPullCommand(a *app) *cobra.Command {
	var allowUnrelated bool
	cmd := &cobra.Command{
		Use:   "pull [REMOTE [BRANCH]]",
		Short: "Fetch and merge a remote branch into the current branch",
		Long: `Fetch from REMOTE (default: origin) and merge its BRANCH (default: the
current branch's name) into the current branch, with the same deterministic
merge sync uses. Exits 3 if conflicts were recorded. A branch that shares no
commit with the current one is refused unless --allow-unrelated-histories.`,
		Args: rangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepoMerging(cmd.Context(), func(r *repo.Repo) error {
				rm, theirs, err := remoteAndBranch(r, args)
				if err != nil {
					return err
				}
				current, err := r.HeadRef()
				if err != nil {
					return err
				}
				opts, err := a.repoRemoteOptions(r, nil)
				if err != nil {
					return err
				}
				opts.AllowUnrelated = allowUnrelated
				rep, err := remote.Pull(cmd.Context(), r, rm, current, theirs, opts)
				if err != nil {
					return fmt.Errorf("pull %s: %w", rm.Name, err)
				}
				if a.jsonOut {
					if err := a.printJSON(rep); err != nil {
						return err
					}
				} else {
					a.printBranchSync(rep.Branch)
				}
				if n := len(rep.Branch.Conflicts); n > 0 {
					return &conflictsRecorded{n}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&allowUnrelated, "allow-unrelated-histories", false, "merge a branch that shares no commit with the current one")
	return a.timeoutFlag(cmd)
}

func (a *app) printBranchSync(b remote.BranchSync) {
	a.printf("%s: %s (%s)\n", b.Branch, b.Action, b.Head.Short())
	for _, c := range b.Conflicts {
		a.printf("  conflict: %s (%s wins)\n", c.Key, c.Winner)
	}
	if b.Note != "" {
		a.printf("  %s\n", b.Note)
	}
}
