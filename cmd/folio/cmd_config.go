package main

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/spf13/cobra"
)

func newConfigCommand(a *app) *cobra.Command {
	var global, unset, list bool
	cmd := &cobra.Command{
		Use:   "config [KEY [VALUE]]",
		Short: "Get and set settings such as user.name and user.email",
		Long: `Get and set settings. With KEY, print its value; with KEY VALUE, set it;
with --unset, remove it; with --list (or no arguments), print them all.
Settings live in the repository (.folio/config.json) or, with --global, in
your user config folder ($FOLIO_CONFIG_GLOBAL overrides its path).

Known settings: user.name, user.email (who commits are by).`,
		Example: `  folio config --global user.name "Ada Lovelace"
  folio config user.email ada@example.com
  folio config --list`,
		Args: rangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if unset && len(args) != 1 {
				return usagef("config --unset takes exactly one KEY")
			}
			if global {
				return a.configFile(repo.GlobalConfigPath(), args, unset, list)
			}
			f, err := a.openFiles()
			if err != nil {
				return err
			}
			return a.configFile(filepath.Join(f.Dir(), "config.json"), args, unset, list)
		},
	}
	cmd.Flags().BoolVar(&global, "global", false, "use the user's settings, shared by every repository")
	cmd.Flags().BoolVar(&unset, "unset", false, "remove KEY")
	cmd.Flags().BoolVarP(&list, "list", "l", false, "print every setting")
	return cmd
}

func (a *app) configFile(path string, args []string, unset, list bool) error {
	if path == "" {
		return fmt.Errorf("no user config folder; set FOLIO_CONFIG_GLOBAL")
	}
	switch {
	case unset:
		return repo.SetConfigFile(path, args[0], "", true)
	case len(args) == 2:
		return repo.SetConfigFile(path, args[0], args[1], false)
	case len(args) == 1 && !list:
		if err := repo.ValidateConfigKey(args[0]); err != nil {
			return err
		}
		cfg, err := repo.ReadConfigFile(path)
		if err != nil {
			return err
		}
		v, ok := cfg[args[0]]
		if !ok {
			return fmt.Errorf("%w: %s is not set", objects.ErrNotFound, args[0])
		}
		if a.jsonOut {
			return a.printJSON(map[string]string{args[0]: v})
		}
		a.printf("%s\n", v)
		return nil
	}
	cfg, err := repo.ReadConfigFile(path)
	if err != nil {
		return err
	}
	if a.jsonOut {
		return a.printJSON(cfg)
	}
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		a.printf("%s=%s\n", k, cfg[k])
	}
	return nil
}
