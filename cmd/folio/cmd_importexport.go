package main

import (
	"github.com/folio-db/folio/objects/repo"
	"github.com/spf13/cobra"
)

func newImportCommand(a *app) *cobra.Command {
	var prefix string
	cmd := &cobra.Command{
		Use:   "import DIR",
		Short: "Stage every file of a folder as a document",
		Long: `Stage every regular file under DIR as a document whose key is its path
relative to DIR ('/'-separated), under PREFIX/ if --prefix is given. Files are
read in parallel; files and folders named .folio or .git (in any case),
symlinks and special files are skipped. If any file's key would be invalid,
nothing is staged.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepoBulk(cmd.Context(), func(r *repo.Repo) error {
				branch, err := r.HeadRef()
				if err != nil {
					return err
				}
				if err := limitFirstImport(cmd.Context(), r, branch); err != nil {
					return err
				}
				rep, err := r.Import(cmd.Context(), branch, args[0], prefix)
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(rep)
				}
				for _, s := range rep.Skipped {
					a.warnf("skipped %s (not a regular file)", s)
				}
				a.printf("staged %d documents (%s)\n", rep.Files, humanBytes(rep.Bytes))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "", "key prefix for the imported documents")
	return cmd
}

func newExportCommand(a *app) *cobra.Command {
	var rev string
	var opts repo.ExportOptions
	cmd := &cobra.Command{
		Use:   "export DIR",
		Short: "Write documents out as files",
		Long: `Write the documents of a revision (default HEAD) into DIR as files, at their
keys relative to --prefix (only documents under PREFIX/ are written).

Export writes only what it owns. It never writes into a .git or .folio
folder (nor into DIR if DIR is inside one), never through a symlink, never
outside DIR, and never over an existing file unless --force is given (never
over a folder). Every key is checked first: a name longer than 255 bytes, a
key that is both a document and a folder of others, or any of the above
stops the export before anything is written, with the list of those keys.
Each file is written under a temp name and renamed into place once all are
written, so a failed export leaves no partial file and no changed file.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rev == "" {
				rev = "HEAD"
			}
			return a.withRepo(cmd.Context(), false, func(r *repo.Repo) error {
				id, err := r.ResolveRevision(cmd.Context(), rev)
				if err != nil {
					return err
				}
				rep, err := r.Export(cmd.Context(), id, args[0], opts)
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(rep)
				}
				a.printf("wrote %d files (%s)\n", rep.Files, humanBytes(rep.Bytes))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&opts.Prefix, "prefix", "", "export only documents under this prefix, relative to it")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace files that already exist in DIR")
	cmd.Flags().StringVar(&rev, "rev", "HEAD", "revision to export")
	return cmd
}
