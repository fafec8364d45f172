package main

import (
	"fmt"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/spf13/cobra"
)

func newFsckCommand(a *app) *cobra.Command {
	var unreachable bool
	cmd := &cobra.Command{
		Use:   "fsck",
		Short: "Verify every object and the closure of every ref",
		Long: `Re-hash and decode every stored object, and check that everything each ref
reaches (commits, parents, index and conflict maps, documents, chunks) is
stored. Exits 1 if anything is wrong. --unreachable also lists the objects no
ref reaches (what 'folio gc --prune=now' would delete).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepo(cmd.Context(), false, func(r *repo.Repo) error {
				rep, err := r.Fsck(cmd.Context())
				if err != nil {
					return err
				}
				var gone []unreachableObject
				if unreachable && rep.OK() { // a damaged repository has no trustworthy list
					_, err := r.GC(cmd.Context(), repo.GCOptions{DryRun: true, Found: func(id objects.ID, size int64) {
						gone = append(gone, unreachableObject{id, size})
					}})
					if err != nil {
						return err
					}
				}
				if a.jsonOut {
					out := any(rep)
					if unreachable {
						out = struct {
							*repo.FsckReport
							Unreachable []unreachableObject `json:"unreachable"`
						}{rep, append([]unreachableObject{}, gone...)}
					}
					if err := a.printJSON(out); err != nil {
						return err
					}
				} else {
					for _, u := range gone {
						a.printf("unreachable %s %d\n", u.ID, u.Size)
					}
					for _, p := range rep.Problems {
						where := ""
						if p.Ref != "" {
							where = " (reachable from " + p.Ref + ")"
						}
						a.printf("%s: %s%s\n", p.ID, p.Message, where)
					}
					a.printf("checked %d objects and %d refs: %d problems\n", rep.Objects, rep.Refs, len(rep.Problems))
				}
				if !rep.OK() {
					return fmt.Errorf("%w: fsck found %d problems", objects.ErrCorrupt, len(rep.Problems))
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&unreachable, "unreachable", false, "list the objects no ref reaches")
	return cmd
}

// unreachableObject is one line of fsck --unreachable.
type unreachableObject struct {
	ID   objects.ID `json:"id"`
	Size int64      `json:"size"`
}

func newStatsCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Count objects and bytes by kind",
		Long:  `Count the stored objects and their bytes by kind, and the disk space the repository takes (like git count-objects -v).`,
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepo(cmd.Context(), false, func(r *repo.Repo) error {
				s, err := r.Stats(cmd.Context())
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(s)
				}
				a.printf("objects: %d\nbytes: %d (%s)\n", s.Objects, s.Bytes, humanBytes(s.Bytes))
				for _, name := range slices.Sorted(maps.Keys(s.ByType)) {
					t := s.ByType[name]
					a.printf("  %-10s %8d objects %12d bytes\n", name+":", t.Count, t.Bytes)
				}
				a.printf("refs: %d\ndisk: %d (%s)\n", s.Refs, s.DiskBytes, humanBytes(s.DiskBytes))
				a.printf("reclaimable: %d unreachable objects, %d bytes (%s): folio gc\n", s.Unreachable, s.ReclaimableBytes, humanBytes(s.ReclaimableBytes))
				return nil
			})
		},
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func newVersionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print folio's version",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			commit := ""
			if info, ok := debug.ReadBuildInfo(); ok {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" {
						commit = s.Value
					}
				}
			}
			if a.jsonOut {
				return a.printJSON(map[string]string{"version": version, "go": runtime.Version(), "commit": commit,
					"repository_format": repo.FormatName})
			}
			a.printf("folio %s (%s, %s)\n", version, runtime.Version(), repo.FormatName)
			return nil
		},
	}
}
