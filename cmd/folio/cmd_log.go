package main

import (
	"context"
	"errors"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
	"github.com/spf13/cobra"
)

func newLogCommand(a *app) *cobra.Command {
	var limit int
	var oneline bool
	cmd := &cobra.Command{
		Use:   "log [REV] [-- KEY]",
		Short: "Show commit history",
		Long: `Show the commits reachable from REV (default HEAD), newest first. With
-- KEY, only the commits that changed that document (or a document under the
prefix KEY/).`,
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
			rev := "HEAD"
			if len(revs) == 1 {
				rev = revs[0]
			}
			return a.withRepo(cmd.Context(), false, func(r *repo.Repo) error {
				return a.log(cmd.Context(), r, rev, keys, limit, oneline)
			})
		},
	}
	cmd.Flags().IntVarP(&limit, "max-count", "n", 0, "show at most N commits")
	cmd.Flags().BoolVar(&oneline, "oneline", false, "one line per commit: short ID and subject")
	return cmd
}

func (a *app) log(ctx context.Context, r *repo.Repo, rev string, keys []string, limit int, oneline bool) error {
	start, err := r.ResolveRevision(ctx, rev)
	if err != nil {
		return err
	}
	var out []repo.CommitInfo
	shown := 0
	w := newLineWriter(a.stdout)
	err = r.Walk(ctx, []objects.ID{start}, func(id objects.ID, c *objects.Commit) error {
		if limit > 0 && shown >= limit {
			return repo.ErrStop
		}
		if len(keys) > 0 {
			touched, err := touchesAny(ctx, r, c, keys)
			if err != nil || !touched {
				return err
			}
		}
		shown++
		switch {
		case a.jsonOut:
			out = append(out, repo.Info(id, c))
		case oneline:
			w.printf("%s %s\n", id.Short(), firstLine(c.Message))
		default:
			writeCommitHeader(w, id, c)
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

// errFound ends a diff walk at the first change that matters.
var errFound = errors.New("found")

// touchesAny reports whether a commit changed a document equal to one of
// keys or under one as a prefix, compared with every parent: a merge that
// took a document unchanged from one side did not change it (git log's
// history simplification, in its simplest form).
func touchesAny(ctx context.Context, r *repo.Repo, c *objects.Commit, keys []string) (bool, error) {
	for _, k := range keys {
		if err := objects.ValidateKey(k); err != nil {
			return false, err
		}
	}
	parentIndexes := []objects.ID{{}} // a root commit is compared with nothing
	if len(c.Parents) > 0 {
		parentIndexes = parentIndexes[:0]
		for _, p := range c.Parents {
			pc, err := r.ReadCommit(ctx, p)
			if err != nil {
				return false, err
			}
			parentIndexes = append(parentIndexes, pc.Index)
		}
	}
	selected := keyFilter(keys)
	for _, from := range parentIndexes {
		changed := false
		for _, k := range keys {
			err := r.Tree().Diff(ctx, from, c.Index, k, func(ch prolly.Change) error {
				if selected(ch.Key) {
					changed = true
					return errFound
				}
				return nil
			})
			if err != nil && !errors.Is(err, errFound) {
				return false, err
			}
			if changed {
				break
			}
		}
		if !changed {
			return false, nil
		}
	}
	return true, nil
}

func writeCommitHeader(w *lineWriter, id objects.ID, c *objects.Commit) {
	w.printf("commit %s\n", id)
	if len(c.Parents) > 1 {
		short := make([]string, len(c.Parents))
		for i, p := range c.Parents {
			short[i] = p.Short()
		}
		w.printf("Merge: %s\n", strings.Join(short, " "))
	}
	if !c.Conflicts.IsZero() {
		w.printf("Conflicts: recorded (see 'folio conflicts --rev %s')\n", id.Short())
	}
	w.printf("Author: %s\n", c.Author)
	w.printf("Date:   %s\n\n", gitDate(c.Time))
	for _, line := range strings.Split(strings.TrimRight(c.Message, "\n"), "\n") {
		w.printf("    %s\n", line)
	}
	w.printf("\n")
}
