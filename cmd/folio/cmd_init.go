package main

import (
	"os"
	"path/filepath"

	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/spf13/cobra"
)

func newInitCommand(a *app) *cobra.Command {
	var branch string
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create an empty repository",
		Long: `Create an empty repository in DIR (default: the current folder), in a
.folio folder. The first branch is main unless --branch says otherwise;
sync publishes that first branch (the sync.branches setting).`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			r, err := repo.Init(cmd.Context(), dir, branch, repo.Options{})
			if err != nil {
				return err
			}
			defer r.Close()
			// sync publishes the default branch unless told otherwise;
			// a repository that starts on another branch publishes that one.
			if branch != remote.DefaultSyncBranches {
				if err := r.SetConfig(remote.SyncBranchesKey, branch, false); err != nil {
					return err
				}
			}
			abs, _ := filepath.Abs(r.Dir())
			if a.jsonOut {
				return a.printJSON(map[string]string{"path": abs})
			}
			a.printf("Initialized empty folio repository in %s\n", abs)
			return nil
		},
	}
	cmd.Flags().StringVarP(&branch, "branch", "b", repo.DefaultBranch, "name of the first branch")
	return cmd
}
