package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/wire"
	"github.com/spf13/cobra"
)

func newFsckCommand(a *app) *cobra.Command {
	var repair, unreachable, verbose bool
	cmd := &cobra.Command{
		Use:   "fsck [--repair [REMOTE]] [--unreachable] [--verbose]",
		Short: "Verify every object and the closure of every ref; repair from a remote",
		Long: `Re-hash and decode every stored object, and check that everything each ref
reaches (commits, parents, index and conflict maps, documents, chunks) is
stored. Each damaged or missing object is listed with the documents that use
it (key, ref and commit). Exits 1 if anything is wrong. --unreachable also
lists the objects no ref reaches (what 'folio gc --prune=now' would delete).
Table files the store's MANIFEST does not list, set aside in .folio/db/unlisted,
are reported one line each with what they hold that the store lacks;
--verbose (and --json) list every object and ref.

With --repair, fetch every damaged or missing object by ID from REMOTE (default:
each remote in turn), check that it hashes to its ID, store it over the damaged
copy, and check again. A ref whose stored value fails its check (damaged on
disk) is removed first, printing the unverified ID it held and the command
that sets it again. Exits 0 only when the repository is clean afterwards.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || len(args) == 1 && !repair {
				return usagef("fsck takes no arguments; fsck --repair takes at most one REMOTE")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withRepoOpts(cmd.Context(), repo.Options{ReadOnly: !repair}, func(r *repo.Repo) error {
				if repair {
					return a.runRepair(cmd.Context(), r, args, verbose)
				}
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
					a.printFsck(rep, verbose)
				}
				return fsckResult(rep)
			})
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "fetch damaged and missing objects by ID from REMOTE (default: every remote)")
	cmd.Flags().BoolVar(&unreachable, "unreachable", false, "list the objects no ref reaches")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list each object and ref found only in a set-aside table")
	return cmd
}

// unreachableObject is one line of fsck --unreachable.
type unreachableObject struct {
	ID   objects.ID `json:"id"`
	Size int64      `json:"size"`
}

// runRepair is fsck --repair.
func (a *app) runRepair(ctx context.Context, r *repo.Repo, names []string, verbose bool) error {
	remotes, noRemote := remotesFor(r.Files, names)
	if noRemote != nil && (len(names) > 0 || !errors.Is(noRemote, remote.ErrNoRemote)) {
		return noRemote
	}
	removed, err := r.RemoveDamagedRefs(ctx)
	if !a.jsonOut {
		a.printRemovedRefs(removed)
	}
	if err != nil {
		return err
	}
	// A clean repository needs no remote; a damaged one without any is
	// told so after the check.
	rep, err := remote.Repair(ctx, r, remotes, remote.Options{})
	if err != nil {
		return err
	}
	if a.jsonOut {
		out := struct {
			*remote.RepairReport
			RemovedRefs []repo.RemovedRef `json:"removed_refs"`
		}{rep, append([]repo.RemovedRef{}, removed...)}
		if err := a.printJSON(out); err != nil {
			return err
		}
		return repairResult(rep.Fsck, noRemote)
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Repaired)) {
		for _, id := range rep.Repaired[name] {
			a.printf("%s: fetched again from %s\n", id, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Errors)) {
		a.warnf("warning: %s", rep.Errors[name])
	}
	a.printFsck(rep.Fsck, verbose)
	return repairResult(rep.Fsck, noRemote)
}

// printRemovedRefs says which damaged refs fsck --repair removed, and how
// to set each again.
func (a *app) printRemovedRefs(removed []repo.RemovedRef) {
	for _, d := range removed {
		held := "no ID"
		if !d.ID.IsZero() {
			held = d.ID.String() + ", unverified"
		}
		a.printf("removed damaged ref %s (it held %s)\n", d.Name, held)
		if d.Restore != "" {
			a.printf("  to set it again once you know that ID is right: %s\n", d.Restore)
		}
	}
}

// repairResult is the error fsck --repair exits with; noRemote says why
// nothing was fetched, if that was why.
func repairResult(rep *repo.FsckReport, noRemote error) error {
	err := fsckResult(rep)
	if err != nil && noRemote != nil {
		return fmt.Errorf("%w (nothing to repair from: %w)", err, noRemote)
	}
	return err
}

// printFsck lists fsck's problems, each with the documents that use the
// object, and the counts. Without verbose, what a set-aside table alone
// holds is one line for the table.
func (a *app) printFsck(rep *repo.FsckReport, verbose bool) {
	var tables []string
	aside := map[string]*setAsideCount{}
	for _, p := range rep.Problems {
		if p.Table != "" && !verbose {
			c := aside[p.Table]
			if c == nil {
				c = &setAsideCount{}
				aside[p.Table] = c
				tables = append(tables, p.Table)
			}
			c.add(p)
			continue
		}
		if p.DamagedRef != "" {
			a.printf("%s\n", wire.UserText(p.Message))
			continue
		}
		where := ""
		if p.Ref != "" {
			where = " (reachable from " + p.Ref + ")"
		}
		a.printf("%s: %s%s\n", p.ID, wire.UserText(p.Message), where)
		for _, u := range p.Uses {
			what := "document " + u.Key
			if u.Key == "" {
				what = "history"
			}
			at := "staged changes"
			if !u.Commit.IsZero() {
				at = "commit " + u.Commit.Short()
			}
			a.printf("  used by %s on %s at %s\n", what, strings.TrimPrefix(u.Ref, objects.BranchPrefix), at)
		}
	}
	for _, t := range tables {
		a.printf("%s\n", aside[t].line(t))
	}
	a.printf("checked %d objects and %d refs: %d problems\n", rep.Objects, rep.Refs, len(rep.Problems))
}

// setAsideCount is what fsck found only in one set-aside table.
type setAsideCount struct {
	objects, refs int
	other         []string // messages of the rest: a table that cannot be read
}

func (c *setAsideCount) add(p repo.Problem) {
	switch {
	case p.Ref != "":
		c.refs++
	case !p.ID.IsZero():
		c.objects++
	default:
		c.other = append(c.other, wire.UserText(p.Message))
	}
}

func (c *setAsideCount) line(table string) string {
	if c.objects == 0 && c.refs == 0 && len(c.other) == 1 {
		return c.other[0]
	}
	return fmt.Sprintf("%s: set aside (a table file the MANIFEST does not list); holds %d objects and %d refs the store lacks%s: "+
		"'folio fsck --verbose' lists them and what to do", table, c.objects, c.refs, otherCount(len(c.other)))
}

func otherCount(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", and %d damaged entries", n)
}

// fsckResult is the error fsck exits with: none for a clean repository.
func fsckResult(rep *repo.FsckReport) error {
	if rep.OK() {
		return nil
	}
	return fmt.Errorf("%w: fsck found %d problems", objects.ErrCorrupt, len(rep.Problems))
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
					a.printf("  %-12s %8d objects %12d bytes\n", name+":", t.Count, t.Bytes)
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
			if a.jsonOut {
				commit := ""
				if info, ok := debug.ReadBuildInfo(); ok {
					for _, s := range info.Settings {
						if s.Key == "vcs.revision" {
							commit = s.Value
						}
					}
				}
				return a.printJSON(map[string]string{"version": version, "go": runtime.Version(), "commit": commit,
					"repository_format": repo.FormatName})
			}
			a.printf("folio %s (%s, %s)\n", version, runtime.Version(), repo.FormatName)
			return nil
		},
	}
}
