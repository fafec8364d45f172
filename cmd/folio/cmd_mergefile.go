package main

import (
	"os"

	"github.com/folio-db/folio/merge"
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
		stdout, diff3, zdiff3, quiet, ours, theirs, asJSON, asText bool
		labels                                                     []string
		markerSize                                                 int
	)
	cmd := &cobra.Command{
		Use:   "merge-file [-p] [--diff3] [-L LABEL]... CURRENT BASE OTHER",
		Short: "Three-way merge of files, like git merge-file (JSON-aware)",
		Long: `Merge the changes from BASE to OTHER into CURRENT, as git merge-file does,
with the same arguments and exit status: 0 when clean, otherwise the number
of conflicts (at most 127). The result replaces CURRENT, or goes to standard
output with -p. Conflicts are shown between git's markers.

Files whose name ends in .json (or .geojson, .jsonld, .webmanifest) are
merged by JSON structure: key by key and array element by element, so edits
to different fields merge cleanly even on the same or adjacent lines, and
both sides' insertions at the same place in an array are both kept (ours
first). The name checked is CURRENT's and the first -L label's (git passes
the real path there as %P); the content is never sniffed. --json and --text
choose for any name. A file that is not valid JSON is merged by lines.

When the JSON merge conflicts, the exit status is not 0: the output is the
structural merge with markers around the lines of each conflicting value
(or, with --ours/--theirs, that side's value there). This makes folio a git
merge driver for JSON:

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
			if asJSON && asText {
				return usagef("merge-file takes --json or --text, not both")
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
			opts := merge.FileOptions{Markers: text.MarkerOptions{Style: text.StyleMerge, MarkerSize: markerSize}}
			opts.JSON = asJSON || (!asText && (merge.IsJSONPath(args[0]) || len(labels) > 0 && merge.IsJSONPath(labels[0])))
			switch {
			case ours:
				opts.Resolve = objects.SideOurs
			case theirs:
				opts.Resolve = objects.SideTheirs
			}
			if diff3 {
				opts.Markers.Style = text.StyleDiff3
			}
			if zdiff3 {
				opts.Markers.Style = text.StyleZDiff3
			}
			opts.Markers.Labels = [3]string{args[0], args[1], args[2]}
			copy(opts.Markers.Labels[:], labels)
			res := merge.File(contents[1], contents[0], contents[2], opts)
			return a.writeMergeFile(args[0], res.Content, stdout, res.Conflicts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&stdout, "stdout", "p", false, "write the result to standard output instead of CURRENT")
	f.BoolVar(&diff3, "diff3", false, "show the base version in conflicts")
	f.BoolVar(&zdiff3, "zdiff3", false, "like --diff3, with lines both sides share moved out of conflicts")
	f.BoolVarP(&quiet, "quiet", "q", false, "accepted for git compatibility: merge-file never warns, its exit status counts the conflicts")
	f.BoolVar(&ours, "ours", false, "resolve conflicts with our side")
	f.BoolVar(&theirs, "theirs", false, "resolve conflicts with their side")
	f.StringArrayVarP(&labels, "label", "L", nil, "labels for CURRENT, BASE and OTHER in conflict markers")
	f.IntVar(&markerSize, "marker-size", 7, "length of the conflict markers")
	f.BoolVar(&asJSON, "json", false, "merge by JSON structure, whatever the file's name")
	f.BoolVar(&asText, "text", false, "merge by lines, whatever the file's name")
	return cmd
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
