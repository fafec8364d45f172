package main

import (
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/spf13/cobra"
)

func newShowCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show REV[:KEY]",
		Short: "Show a commit and its changes, or a document at a revision",
		Long: `With REV, show the commit and the changes it made against its first parent.
With REV:KEY, print document KEY as it was at REV.`,
		Example: `  folio show HEAD~2
  folio show main:users/ada.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rev, key, isDoc := strings.Cut(args[0], ":")
			return a.withRepo(cmd.Context(), false, func(r *repo.Repo) error {
				ctx := cmd.Context()
				if isDoc {
					_, entry, err := r.ResolveDocument(ctx, rev, key)
					if err != nil {
						return repo.DocumentError(key, err)
					}
					if a.jsonOut {
						return a.printJSON(docJSON{Key: key, ID: entry.ID, Kind: entry.Kind, Size: entry.Size})
					}
					return repo.DocumentError(key, r.CopyDocument(ctx, a.stdout, entry))
				}
				id, err := r.ResolveRevision(ctx, rev)
				if err != nil {
					return err
				}
				c, err := r.ReadCommit(ctx, id)
				if err != nil {
					return err
				}
				var parentIndex objects.ID
				if len(c.Parents) > 0 {
					pc, err := r.ReadCommit(ctx, c.Parents[0])
					if err != nil {
						return err
					}
					parentIndex = pc.Index
				}
				changes, err := diffMaps(ctx, r, parentIndex, c.Index, nil)
				if err != nil {
					return err
				}
				if a.jsonOut {
					docs, err := jsonChanges(ctx, r, changes)
					if err != nil {
						return err
					}
					return a.printJSON(struct {
						repo.CommitInfo
						Changes []docChange `json:"changes"`
					}{repo.Info(id, c), docs})
				}
				w := newLineWriter(a.stdout)
				writeCommitHeader(w, id, c)
				if err := w.flush(); err != nil {
					return err
				}
				return writeDiff(ctx, a.stdout, r, changes)
			})
		},
	}
}
