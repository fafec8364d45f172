package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/folio-db/folio/merge/text"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/spf13/cobra"
)

func newPutCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "put KEY [FILE|-]",
		Short: "Stage a document from a file or standard input",
		Long: `Stage the content of FILE (or standard input, with - or no FILE) as the
document KEY on the current branch. The change is committed by 'folio commit'.

Keys are '/'-separated paths: no empty segment, no '.' or '..', no control
characters, at most 1024 bytes, and no segment named .git or .folio (in any
case): those folders belong to git and folio.`,
		Example: `  folio put users/ada.json ada.json
  echo '{"name":"Ada"}' | folio put users/ada.json`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := args[0]
			if err := objects.ValidateNewKey(key); err != nil {
				return err
			}
			file := ""
			if len(args) == 2 && args[1] != "-" {
				file = args[1]
			}
			return a.withRepo(cmd.Context(), true, func(r *repo.Repo) error {
				branch, err := r.HeadRef()
				if err != nil {
					return err
				}
				entry, err := a.readDocumentArg(cmd.Context(), r, file)
				if err != nil {
					return err
				}
				if _, err := r.StageEdits(cmd.Context(), branch, []repo.Edit{{Key: key, Entry: entry}}); err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(docJSON{Key: key, ID: entry.ID, Kind: entry.Kind, Size: entry.Size})
				}
				return nil
			})
		},
	}
}

// readDocumentArg stores the content of a file, or of standard input when
// file is "".
func (a *app) readDocumentArg(ctx context.Context, r *repo.Repo, file string) (objects.Entry, error) {
	if file == "" {
		return r.WriteUpload(ctx, a.stdin) // a pipe may break: then nothing is stored
	}
	f, err := os.Open(file)
	if err != nil {
		return objects.Entry{}, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return objects.Entry{}, fmt.Errorf("%s is a folder; use 'folio import' for folders", file)
	}
	return r.WriteDocument(ctx, f)
}

// docJSON describes one document in --json output.
type docJSON struct {
	Key      string       `json:"key"`
	ID       objects.ID   `json:"id"`
	Kind     objects.Kind `json:"kind"`
	Size     uint64       `json:"size"`
	Conflict bool         `json:"conflict,omitempty"`
}

func newGetCommand(a *app) *cobra.Command {
	var rev string
	var markers bool
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Print a document",
		Long: `Print the content of document KEY: as staged on the current branch, or at
revision REV with --rev. With --json, print its ID, kind and size instead.
A document with a recorded conflict prints the winning version and a warning
on standard error.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := args[0]
			if err := objects.ValidateKey(key); err != nil {
				return err
			}
			err := a.withRepo(cmd.Context(), false, func(r *repo.Repo) error {
				ctx := cmd.Context()
				index, conflicts, err := a.snapshot(ctx, r, rev)
				if err != nil {
					return err
				}
				entry, err := r.Lookup(ctx, index, key)
				if err != nil {
					return err
				}
				_, conflicted, err := r.Tree().Get(ctx, conflicts, key)
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(docJSON{Key: key, ID: entry.ID, Kind: entry.Kind, Size: entry.Size, Conflict: conflicted})
				}
				if markers && conflicted {
					return a.writeMarkers(ctx, r, conflicts, key)
				}
				if conflicted {
					a.warnf("warning: %s has a recorded conflict; this is the winning version (see 'folio conflicts')", key)
				}
				return r.CopyDocument(ctx, a.stdout, entry)
			})
			return repo.DocumentError(key, err)
		},
	}
	cmd.Flags().StringVar(&rev, "rev", "", "read at this revision instead of the staged state")
	cmd.Flags().BoolVar(&markers, "markers", false, "show a conflicted document's conflicts between markers (a document without one prints as it is)")
	return cmd
}

// writeMarkers shows a recorded conflict as git shows one: the merge of
// the three recorded versions, conflicts between markers.
func (a *app) writeMarkers(ctx context.Context, r *repo.Repo, conflicts objects.ID, key string) error {
	rec, err := readConflict(ctx, r, conflicts, key)
	if err != nil {
		return err
	}
	var versions [3][]byte
	for i, e := range []objects.Entry{rec.Base, rec.Ours, rec.Theirs} {
		if e.ID.IsZero() {
			continue
		}
		if e.Kind == objects.KindBinary {
			return fmt.Errorf("%s is binary: see the versions with 'folio conflicts --json' and 'folio show'", key)
		}
		if versions[i], err = r.ReadDocument(ctx, e); err != nil {
			return err
		}
	}
	res := text.Merge(versions[0], versions[1], versions[2])
	_, err = a.stdout.Write(res.Markers(text.MarkerOptions{Labels: [3]string{
		"ours (" + rec.OursCommit.Short() + ")", "base", "theirs (" + rec.TheirsCommit.Short() + ")"}}))
	return err
}

// snapshot returns the index and conflicts roots to read: a revision's, or
// the current branch's staged ones when rev is empty.
func (a *app) snapshot(ctx context.Context, r *repo.Repo, rev string) (index, conflicts objects.ID, err error) {
	if rev != "" {
		id, err := r.ResolveRevision(ctx, rev)
		if err != nil {
			return index, conflicts, err
		}
		c, err := r.ReadCommit(ctx, id)
		if err != nil {
			return index, conflicts, err
		}
		return c.Index, c.Conflicts, nil
	}
	branch, err := r.HeadRef()
	if err != nil {
		return index, conflicts, err
	}
	s, err := r.LoadStaged(ctx, branch)
	if err != nil {
		return index, conflicts, err
	}
	return s.Index, s.Conflicts, nil
}

func newRmCommand(a *app) *cobra.Command {
	var recursive bool
	cmd := &cobra.Command{
		Use:   "rm KEY...",
		Short: "Stage the removal of documents",
		Long: `Stage the removal of each KEY. With -r, a KEY that is a prefix removes every
document under KEY/. A KEY that matches nothing is an error, and then nothing
is removed.`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.stageChange(cmd.Context(), func(r *repo.Repo, index objects.ID) ([]repo.Edit, error) {
				return r.RemoveEdits(cmd.Context(), index, args, recursive)
			})
		},
	}
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "remove every document under each KEY/")
	return cmd
}

func newMvCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "mv OLD NEW",
		Short: "Stage the renaming of a document or of a prefix",
		Long: `Stage renaming document OLD to NEW, or, if OLD is a prefix, every document
under OLD/ to the same place under NEW/. Existing documents are never
overwritten.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.stageChange(cmd.Context(), func(r *repo.Repo, index objects.ID) ([]repo.Edit, error) {
				return r.MoveEdits(cmd.Context(), index, args[0], args[1])
			})
		},
	}
}

// stageChange computes edits against the current branch's staged index
// and stages them, in one step.
func (a *app) stageChange(ctx context.Context, edits func(*repo.Repo, objects.ID) ([]repo.Edit, error)) error {
	return a.withRepo(ctx, true, func(r *repo.Repo) error {
		branch, err := r.HeadRef()
		if err != nil {
			return err
		}
		var changed []repo.Edit
		_, err = r.Stage(ctx, branch, func(s *repo.Staged) error {
			if changed, err = edits(r, s.Index); err != nil {
				return err
			}
			return r.EditStaged(ctx, s, changed)
		})
		if err != nil {
			return err
		}
		if a.jsonOut {
			out := []map[string]any{}
			for _, e := range changed {
				out = append(out, map[string]any{"key": e.Key, "removed": e.Delete})
			}
			return a.printJSON(out)
		}
		return nil
	})
}

func newLsCommand(a *app) *cobra.Command {
	var rev string
	var long bool
	cmd := &cobra.Command{
		Use:   "ls [PREFIX]",
		Short: "List documents",
		Long: `List the keys of the documents staged on the current branch (or at --rev),
in order, optionally only those starting with PREFIX. With -l, also show each
document's kind, size and short ID.`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := argOr(args, 0, "")
			return a.withRepo(cmd.Context(), false, func(r *repo.Repo) error {
				ctx := cmd.Context()
				index, _, err := a.snapshot(ctx, r, rev)
				if err != nil {
					return err
				}
				var docs []docJSON
				w := newLineWriter(a.stdout)
				err = r.Tree().Iterate(ctx, index, prefix, "", func(key string, e objects.Entry) error {
					switch {
					case a.jsonOut:
						docs = append(docs, docJSON{Key: key, ID: e.ID, Kind: e.Kind, Size: e.Size})
					case long:
						w.printf("%-6s %10d %s  %s\n", e.Kind, e.Size, e.ID.Short(), key)
					default:
						w.line(key)
					}
					return w.err
				})
				if err != nil {
					return err
				}
				if a.jsonOut {
					if docs == nil {
						docs = []docJSON{}
					}
					return a.printJSON(docs)
				}
				return w.flush()
			})
		},
	}
	cmd.Flags().StringVar(&rev, "rev", "", "list at this revision instead of the staged state")
	cmd.Flags().BoolVarP(&long, "long", "l", false, "show kind, size and ID")
	return cmd
}

// lineWriter buffers output and keeps the first write error, so long
// listings stop when stdout closes (folio ls | head).
type lineWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func newLineWriter(w io.Writer) *lineWriter { return &lineWriter{w: w} }

func (l *lineWriter) printf(format string, args ...any) {
	if l.err != nil {
		return
	}
	l.buf = fmt.Appendf(l.buf, format, args...)
	l.spill()
}

// line writes s and a newline: printf("%s\n", s) without formatting, for
// listings of many keys.
func (l *lineWriter) line(s string) {
	if l.err != nil {
		return
	}
	l.buf = append(append(l.buf, s...), '\n')
	l.spill()
}

// spill writes the buffer out once it holds 64 KiB.
func (l *lineWriter) spill() {
	if len(l.buf) > 64<<10 {
		l.err = l.flush()
	}
}

func (l *lineWriter) flush() error {
	if l.err != nil {
		return l.err
	}
	_, l.err = l.w.Write(l.buf)
	l.buf = l.buf[:0]
	return l.err
}
