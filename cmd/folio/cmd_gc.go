package main

import (
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/spf13/cobra"
)

// defaultPrune is the --prune default of gc, fsck --unreachable and serve.
const defaultPrune = "2.weeks.ago"

func newGCCommand(a *app) *cobra.Command {
	var prune string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Delete objects nothing reaches, and give their space back",
		Long: `Mark everything reachable from every ref (branches, tags, remote-tracking
branches, staged working sets and every version their conflict records keep),
delete the other objects, then compact the store until no space is left to win.

An object goes only when it has been neither written nor reachable from a ref
for the grace period (--prune, default two weeks, like git's): a command or
push running meanwhile never loses what it wrote or read. --prune=now deletes
everything unreachable at the start, which is safe only while nothing else
writes. --dry-run deletes nothing and lists what would go. 'folio serve'
collects its repositories itself (see serve --gc-every); in a repository it
holds, gc runs in the server, which writes meanwhile, so --prune must be at
least its --transfer-timeout (a dry run may use any).`,
		Example: `  folio gc
  folio gc --prune=now --json
  folio gc --dry-run`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			grace, err := repo.ParseAge(prune)
			if err != nil {
				return usagef("--prune: %v", err)
			}
			return a.withRepoOpts(cmd.Context(), repo.Options{ReadOnly: dryRun}, func(r *repo.Repo) error {
				opts := repo.GCOptions{Grace: grace, DryRun: dryRun, Exclusive: true}
				if dryRun && !a.jsonOut {
					opts.Found = func(id objects.ID, size int64) { a.printf("%s %d\n", id, size) }
				}
				rep, err := r.GC(cmd.Context(), opts)
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(rep)
				}
				verb := "deleted"
				if dryRun {
					verb = "would delete"
				}
				a.printf("%s %d objects (%s); objects %d -> %d, bytes %s -> %s, disk %s -> %s\n", verb,
					rep.Deleted, humanBytes(rep.DeletedBytes), rep.ObjectsBefore, rep.ObjectsAfter,
					humanBytes(rep.BytesBefore), humanBytes(rep.BytesAfter), humanBytes(rep.DiskBefore), humanBytes(rep.DiskAfter))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&prune, "prune", defaultPrune, "grace period: now, never, 36h, 14d, 2w or 2.weeks.ago")
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "delete nothing; list what would go")
	return cmd
}
