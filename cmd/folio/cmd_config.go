package main

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/spf13/cobra"
)

func newConfigCommand(a *app) *cobra.Command {
	var useGlobal, unset, list bool
	cmd := &cobra.Command{
		Use:   "config [KEY [VALUE]]",
		Short: "Get and set settings such as user.name and user.email",
		Long: `Get and set settings. With KEY, print its value; with KEY VALUE, set it;
with --unset, remove it; with --list (or no arguments), print them all.
Settings live in the repository (.folio/config.json) or, with --global, in
your user config folder ($FOLIO_CONFIG_GLOBAL overrides its path). Reads
without --global see the repository's settings over the user's (outside a
repository, the user's); writes go to the repository unless --global.

Known settings: user.name, user.email (who commits are by).`,
		Example: `  folio config --global user.name "Ada Lovelace"
  folio config user.email ada@example.com
  folio config --list`,
		Args: rangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if unset && len(args) != 1 {
				return usagef("config --unset takes exactly one KEY")
			}
			if len(args) == 2 && !repo.IsKnownConfigKey(args[0]) {
				a.warnf("warning: %s is not a setting folio reads (it knows %s)", args[0], strings.Join(repo.KnownConfigKeys, ", "))
			}
			global := repo.GlobalConfigPath()
			if global == "" {
				return fmt.Errorf("no user config folder; set FOLIO_CONFIG_GLOBAL")
			}
			f, err := a.openFiles()
			switch {
			case useGlobal:
				return a.configFile(global, args, unset, list)
			case err != nil && len(args) < 2 && !unset && errors.Is(err, repo.ErrNoRepository):
				// Outside a repository, reads see the user's settings.
				return a.configFile(global, args, false, list)
			case err != nil:
				return err
			case len(args) < 2 && !unset:
				// Reads see the repository's settings over the user's.
				cfg, err := f.Config()
				if err != nil {
					return err
				}
				return a.printConfig(cfg, args, list)
			}
			return a.configFile(filepath.Join(f.Dir(), "config.json"), args, unset, list)
		},
	}
	cmd.Flags().BoolVar(&useGlobal, "global", false, "use the user's settings, shared by every repository")
	cmd.Flags().BoolVar(&unset, "unset", false, "remove KEY")
	cmd.Flags().BoolVarP(&list, "list", "l", false, "print every setting")
	return cmd
}

func (a *app) configFile(path string, args []string, unset, list bool) error {
	switch {
	case unset:
		return repo.SetConfigFile(path, args[0], "", true)
	case len(args) == 2:
		return repo.SetConfigFile(path, args[0], args[1], false)
	}
	cfg, err := repo.ReadConfigFile(path)
	if err != nil {
		return err
	}
	return a.printConfig(cfg, args, list)
}

// printConfig prints one setting (args[0]) or, with list or no args, all.
func (a *app) printConfig(cfg repo.Config, args []string, list bool) error {
	if len(args) == 1 && !list {
		if err := repo.ValidateConfigKey(args[0]); err != nil {
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
	if a.jsonOut {
		return a.printJSON(cfg)
	}
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		a.printf("%s=%s\n", k, cfg[k])
	}
	return nil
}
