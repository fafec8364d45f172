package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/spf13/cobra"
)

func newLogCommand(a *app) *cobra.Command {
	var o struct {
		limit                      int
		oneline, all, firstParent  bool
		graph                      bool
		patch                      bool
		author, grep, since, until string
	}
	cmd := &cobra.Command{
		Use:   "log [REV] [-- KEY...]",
		Short: "Show commit history",
		Long: `Show the commits reachable from REV (default HEAD; --all: every branch and
tag), newest first. With -- KEY, only the commits that changed that document
(or a document under the prefix KEY/). --author and --grep take regular
expressions (matched against "Name <email>" and the message); --since and
--until take a date (2026-01-02), a time (RFC 3339) or an age (36h, 3d, 2w).
--graph draws the history as git log --graph does: each line of history a
column, merges opening columns and lines joining; it shows whole histories,
so it does not combine with KEY, --author, --grep, --since, --until or -p.`,
		Args: func(cmd *cobra.Command, args []string) error {
			revs := args
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				revs = args[:dash]
			}
			if len(revs) > 1 {
				return usagef("log takes at most one revision")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			revs, keys := args, []string(nil)
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				revs, keys = args[:dash], args[dash:]
			}
			if o.all && len(revs) > 0 {
				return usagef("log: --all or a revision, not both")
			}
			if o.graph && (len(keys) > 0 || o.author != "" || o.grep != "" || o.since != "" || o.until != "" || o.patch) {
				return usagef("log: --graph shows whole histories: it does not combine with KEY, --author, --grep, --since, --until or -p")
			}
			filter := repo.LogFilter{Keys: keys, FirstParent: o.firstParent, Graph: o.graph, Limit: o.limit}
			var err error
			if filter.Author, err = optionalRegexp("--author", o.author); err != nil {
				return err
			}
			if filter.Grep, err = optionalRegexp("--grep", o.grep); err != nil {
				return err
			}
			now := time.Now()
			for _, t := range []struct {
				flag, value string
				into        *time.Time
			}{{"--since", o.since, &filter.Since}, {"--until", o.until, &filter.Until}} {
				if t.value == "" {
					continue
				}
				if *t.into, err = repo.ParseLogTime(t.value, now); err != nil {
					return usagef("%s: %v", t.flag, err)
				}
			}
			return a.withRepo(cmd.Context(), false, func(r *repo.Repo) error {
				starts, err := logStarts(cmd.Context(), r, revs, o.all)
				if err != nil {
					return err
				}
				return a.log(cmd.Context(), r, starts, filter, o.oneline, o.patch)
			})
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.limit, "max-count", "n", 0, "show at most N commits")
	f.BoolVar(&o.oneline, "oneline", false, "one line per commit: short ID and subject")
	f.BoolVarP(&o.patch, "patch", "p", false, "show each commit's changes (against its first parent)")
	f.BoolVar(&o.all, "all", false, "start from every branch and tag")
	f.BoolVar(&o.firstParent, "first-parent", false, "follow only the first parent of merges")
	f.BoolVar(&o.graph, "graph", false, "draw the history's lines and merges beside the commits")
	f.StringVar(&o.author, "author", "", "only commits whose author matches `REGEXP`")
	f.StringVar(&o.grep, "grep", "", "only commits whose message matches `REGEXP`")
	f.StringVar(&o.since, "since", "", "only commits at or after `TIME`")
	f.StringVar(&o.until, "until", "", "only commits at or before `TIME`")
	return cmd
}

func optionalRegexp(flag, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, usagef("%s: %v", flag, err)
	}
	return re, nil
}

// logStarts resolves where a log starts: the revision, HEAD, or with all
// every branch and tag.
func logStarts(ctx context.Context, r *repo.Repo, revs []string, all bool) ([]objects.ID, error) {
	if !all {
		id, err := r.ResolveRevision(ctx, argOr(revs, 0, "HEAD"))
		return []objects.ID{id}, err
	}
	var starts []objects.ID
	for _, prefix := range []string{objects.BranchPrefix, objects.TagPrefix} {
		refs, err := r.Store().Refs(ctx, prefix)
		if err != nil {
			return nil, err
		}
		for _, ref := range refs {
			starts = append(starts, ref.ID)
		}
	}
	return starts, nil
}

func (a *app) log(ctx context.Context, r *repo.Repo, starts []objects.ID, filter repo.LogFilter, oneline, patch bool) error {
	var out []repo.CommitInfo
	var graph repo.Graph
	w := newLineWriter(a.stdout)
	err := r.Log(ctx, starts, filter, func(id objects.ID, c *objects.Commit) error {
		switch {
		case a.jsonOut:
			out = append(out, repo.Info(id, c))
		case filter.Graph:
			text := []string{id.Short() + " " + firstLine(c.Message)}
			if !oneline {
				text = commitHeaderLines(id, c)
			}
			writeGraphed(w, graph.Next(id, filter.ShownParents(c)), text)
		case oneline:
			w.printf("%s %s\n", id.Short(), firstLine(c.Message))
		default:
			writeCommitHeader(w, id, c)
		}
		if patch && !a.jsonOut {
			return writeCommitPatch(ctx, w, r, c, filter.Keys)
		}
		return w.err
	})
	if err != nil {
		return err
	}
	if a.jsonOut {
		return a.printJSON(nonNil(out))
	}
	return w.flush()
}

// writeCommitPatch writes what a commit changed against its first parent
// (a root commit: against nothing), as 'folio diff' shows it.
func writeCommitPatch(ctx context.Context, w *lineWriter, r *repo.Repo, c *objects.Commit, keys []string) error {
	var from objects.ID
	if len(c.Parents) > 0 {
		parent, err := r.ReadCommit(ctx, c.Parents[0])
		if err != nil {
			return err
		}
		from = parent.Index
	}
	changes, err := diffMaps(ctx, r, from, c.Index, keys)
	if err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := writeDiff(ctx, w.w, r, changes); err != nil {
		return err
	}
	w.printf("\n")
	return w.err
}

func writeCommitHeader(w *lineWriter, id objects.ID, c *objects.Commit) {
	for _, line := range commitHeaderLines(id, c) {
		w.printf("%s\n", line)
	}
}

// commitHeaderLines are the lines log shows for a commit, as git log does.
func commitHeaderLines(id objects.ID, c *objects.Commit) []string {
	lines := []string{"commit " + id.String()}
	if len(c.Parents) > 1 {
		short := make([]string, len(c.Parents))
		for i, p := range c.Parents {
			short[i] = p.Short()
		}
		lines = append(lines, "Merge: "+strings.Join(short, " "))
	}
	if !c.Conflicts.IsZero() {
		lines = append(lines, fmt.Sprintf("Conflicts: recorded (see 'folio conflicts --rev %s')", id.Short()))
	}
	lines = append(lines, fmt.Sprintf("Author: %s", c.Author))
	if c.Committer != (objects.Signature{}) {
		lines = append(lines, fmt.Sprintf("Commit: %s", c.Committer))
	}
	lines = append(lines, "Date:   "+gitDate(c.Time), "")
	for _, line := range strings.Split(strings.TrimRight(c.Message, "\n"), "\n") {
		lines = append(lines, "    "+line)
	}
	return append(lines, "")
}

// writeGraphed writes a commit's text beside its graph rows: the first
// line on the commit's row, the next ones on the rows that lead on to the
// next commit, then on padding rows; rows left over go out alone.
func writeGraphed(w *lineWriter, rows repo.GraphRows, text []string) {
	w.printf("%s%s\n", rows.Commit, text[0])
	edges := rows.Edges
	for _, t := range text[1:] {
		row := rows.Padding
		if len(edges) > 0 {
			row, edges = edges[0], edges[1:]
		}
		w.printf("%s\n", strings.TrimRight(row+t, " "))
	}
	for _, row := range edges {
		w.printf("%s\n", strings.TrimRight(row, " "))
	}
}
