package main

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/client"
	"github.com/spf13/cobra"
)

type watchOptions struct {
	prefix, branch, since string
	interval              time.Duration
	count                 int
}

func newWatchCommand(a *app) *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch [REMOTE]",
		Short: "Print branch moves as they happen",
		Long: `Print each move of a branch as it happens: its sequence number, branch, old and
new commit, author, and the documents it changed (at most 1000 are listed).
REMOTE is a remote's name or a URL; without it, the repository here: through
'folio serve' when it is serving it, otherwise by reading it every --interval.

--since N starts after change N (default: now, the changes to come); the feed
keeps the last 10000 moves, and when asked for older ones watch says so and
goes on from the latest. With --json, one JSON object per line.
Runs until interrupted (or -n changes); reconnects after failures.`,
		Example: `  folio watch --prefix users/
  folio watch origin --json --since 0`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.watch(cmd.Context(), args, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.prefix, "prefix", "", "only changes to documents under this prefix")
	f.StringVar(&o.branch, "branch", "", "only this branch (default: every branch)")
	f.StringVar(&o.since, "since", "now", "start after this change number, or now")
	f.IntVarP(&o.count, "max-count", "n", 0, "stop after N changes (default: never)")
	f.DurationVar(&o.interval, "interval", time.Second, "how often to read a repository nobody serves")
	return cmd
}

func (a *app) watch(ctx context.Context, args []string, o watchOptions) error {
	q := remote.FeedQuery{Now: o.since == "now", Branch: o.branch, Prefix: o.prefix}
	if !q.Now {
		n, err := strconv.ParseUint(o.since, 10, 64)
		if err != nil {
			return usagef("--since %q: want a change number or now", o.since)
		}
		q.Since = n
	}
	if o.branch != "" {
		if err := objects.ValidateBranchName(o.branch); err != nil {
			return usagef("--branch %q is not a valid branch name", o.branch)
		}
	}
	if o.interval <= 0 {
		return usagef("--interval must be positive")
	}
	src, err := a.changeSource(args, o.interval)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	opts := remote.WatchOptions{FeedQuery: q,
		OnReset: func(latest uint64) {
			a.warnf("the feed no longer holds the changes asked for: going on after change %d", latest)
		},
		OnError: func(err error) {
			if !errors.Is(err, badgerstore.ErrLocked) { // a command writing: read it next time
				a.warnf("watch: %v (retrying)", err)
			}
		},
	}
	shown := 0
	err = remote.Watch(ctx, src, opts, func(c objects.Change) error {
		var err error
		if a.jsonOut {
			err = enc.Encode(c)
		} else {
			_, err = a.stdout.Write([]byte(formatChange(c)))
		}
		if shown++; err == nil && shown == o.count {
			err = errEnough
		}
		return err
	})
	if errors.Is(err, errEnough) {
		return nil
	}
	return err
}

var errEnough = errors.New("enough changes")

// changeSource is the feed to watch: a remote, the server holding the
// repository here, or the repository itself.
func (a *app) changeSource(args []string, interval time.Duration) (remote.ChangeSource, error) {
	if len(args) == 1 {
		rm, err := a.remoteArg(args[0])
		if err != nil {
			return nil, err
		}
		return remote.FeedOf(rm, remote.Options{})
	}
	if info, err := a.served(); err == nil && a.locked() {
		httpClient, err := pinnedClient(info.Cert, client.DefaultTimeouts)
		if err != nil {
			return nil, err
		}
		c, err := client.New(info.URL, client.Options{Token: info.Token, HTTP: httpClient})
		return remote.ServerFeed{Client: c}, err
	}
	return remote.LocalFeed{Interval: interval, Open: func(ctx context.Context) (*repo.Repo, error) {
		return a.openRepo(ctx, false)
	}}, nil
}

// remoteArg is the remote an argument names: a URL, or a remote's name.
func (a *app) remoteArg(arg string) (remote.Remote, error) {
	if strings.Contains(arg, "://") {
		return remote.Remote{URL: arg}, nil
	}
	f, err := a.openFiles()
	if err != nil {
		return remote.Remote{}, err
	}
	return remote.Lookup(f, arg)
}

// formatChange is one change as a line: "SEQ BRANCH OLD..NEW AUTHOR: KEYS".
func formatChange(c objects.Change) string {
	short := func(id *objects.ID) string {
		if id == nil {
			return "-"
		}
		return id.Short()
	}
	var b strings.Builder
	b.WriteString(strconv.FormatUint(c.Seq, 10) + " " + c.Branch + " " + short(c.Old) + ".." + short(c.New))
	if c.Author != nil {
		b.WriteString(" " + c.Author.String())
	}
	b.WriteString(":")
	for _, k := range c.Keys {
		b.WriteString(" " + k)
	}
	switch {
	case c.KeysTruncated:
		b.WriteString(" (and more)")
	case c.KeysUnknown:
		b.WriteString(" (documents unknown: a commit is gone)")
	}
	return b.String() + "\n"
}
