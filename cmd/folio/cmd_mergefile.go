package main

import (
	"os"

	"github.com/folio-db/folio/merge/jsonmerge"
	"github.com/folio-db/folio/merge/text"
	"github.com/folio-db/folio/objects"
	"github.com/spf13/cobra"
)

// maxMergeFileConflicts caps merge-file's exit status, as git does.
const maxMergeFileConflicts = 127

// exitMergeFileError is merge-file's status when it could not merge, as
// git merge-file's -1.
const exitMergeFileError = 255

func newMergeFileCommand(a *app) *cobra.Command {
	var (
		stdout, diff3, zdiff3, quiet, ours, theirs bool
		labels                                     []string
		markerSize                                 int
	)
	cmd := &cobra.Command{
		Use:   "merge-file [-p] [--diff3] [-L LABEL]... CURRENT BASE OTHER",
		Short: "Three-way merge of files, like git merge-file (JSON-aware)",
		Long: `Merge the changes from BASE to OTHER into CURRENT, as git merge-file does,
with the same arguments and exit status: 0 when clean, otherwise the number
of conflicts (at most 127). The result replaces CURRENT, or goes to standard
output with -p. Conflicts are shown between git's markers.

When all three files are JSON objects or arrays, they are merged by key and
array element first: edits to different fields merge cleanly even on the same
or adjacent lines. If that merge conflicts, the line merge with markers is
used, as git would. This makes folio a git merge driver for JSON:

  git config merge.folio.driver 'folio merge-file -L %P -L base -L theirs %A %O %B'
  echo '*.json merge=folio' >> .gitattributes`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 3 {
				return usagef("merge-file needs CURRENT BASE OTHER")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(labels) > 3 {
				return usagef("merge-file takes at most three -L labels")
			}
			var contents [3][]byte
			for i, name := range args {
				data, err := os.ReadFile(name)
				if err != nil {
					a.warnf("%v", err)
					return exitCode(exitMergeFileError)
				}
				contents[i] = data
			}
			current, base, other := contents[0], contents[1], contents[2]
			if merged, ok := mergeJSONClean(base, current, other); ok {
				return a.writeMergeFile(args[0], merged, stdout, 0)
			}
			res := text.Merge(base, current, other)
			if ours || theirs {
				side := objects.SideOurs
				if theirs {
					side = objects.SideTheirs
				}
				return a.writeMergeFile(args[0], res.Resolve(side), stdout, 0)
			}
			opts := text.MarkerOptions{Style: text.StyleMerge, MarkerSize: markerSize}
			if diff3 {
				opts.Style = text.StyleDiff3
			}
			if zdiff3 {
				opts.Style = text.StyleZDiff3
			}
			opts.Labels = [3]string{args[0], args[1], args[2]}
			copy(opts.Labels[:], labels)
			conflicts := res.MarkerConflicts(opts.Style)
			if conflicts > 0 && !quiet {
				a.warnf("warning: %d conflicts in %s", conflicts, args[0])
			}
			return a.writeMergeFile(args[0], res.Markers(opts), stdout, conflicts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&stdout, "stdout", "p", false, "write the result to standard output instead of CURRENT")
	f.BoolVar(&diff3, "diff3", false, "show the base version in conflicts")
	f.BoolVar(&zdiff3, "zdiff3", false, "like --diff3, with lines both sides share moved out of conflicts")
	f.BoolVarP(&quiet, "quiet", "q", false, "do not warn about conflicts")
	f.BoolVar(&ours, "ours", false, "resolve conflicts with our side")
	f.BoolVar(&theirs, "theirs", false, "resolve conflicts with their side")
	f.StringArrayVarP(&labels, "label", "L", nil, "labels for CURRENT, BASE and OTHER in conflict markers")
	f.IntVar(&markerSize, "marker-size", 7, "length of the conflict markers")
	return cmd
}

// mergeJSONClean merges three JSON documents by structure and reports
// whether that merge was clean.
func mergeJSONClean(base, current, other []byte) ([]byte, bool) {
	for _, d := range [][]byte{base, current, other} {
		if objects.DetectKind(d) != objects.KindJSON {
			return nil, false
		}
	}
	res, err := jsonmerge.Merge(base, current, other, objects.SideOurs)
	if err != nil || len(res.Conflicts) > 0 {
		return nil, false
	}
	return res.Merged, true
}

func (a *app) writeMergeFile(current string, merged []byte, toStdout bool, conflicts int) error {
	if toStdout {
		if _, err := a.stdout.Write(merged); err != nil {
			return err
		}
	} else {
		info, err := os.Stat(current)
		if err != nil {
			return err
		}
		if err := os.WriteFile(current, merged, info.Mode().Perm()); err != nil {
			a.warnf("%v", err)
			return exitCode(exitMergeFileError)
		}
	}
	if conflicts > 0 {
		return exitCode(min(conflicts, maxMergeFileConflicts))
	}
	return nil
}
