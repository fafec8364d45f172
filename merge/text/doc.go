// Package text merges and diffs text line by line, the way git merge-file
// and git diff do, byte for byte.
//
// # Lines
//
// A line is its bytes up to and including "\n"; a CRLF line simply ends
// in "\r\n", and the last line may have no terminator. Lines are equal
// only if all their bytes are, so "a\n", "a\r\n" and a final "a" are three
// different lines: line endings and a missing final newline survive a
// merge because nothing ever rewrites a line.
//
// # Merge
//
// Merge diffs base->ours and base->theirs with merge/sequence's Diff,
// which makes xdiff's choices, and then follows git merge-file's default
// (XDL_MERGE_ZEALOUS_ALNUM):
//
//  1. Changes of the two sides are paired in base order. A change that
//     ends before the other side's next change starts is clean; changes
//     that overlap or touch (one ends where the other starts) conflict,
//     unless they are the very same change.
//  2. Each conflict whose sides are both non-empty is refined: its ours
//     and theirs lines are diffed against each other, and only the parts
//     that differ remain conflicts; if none differ it is no conflict.
//  3. Neighbouring conflicts are joined when at most three lines, or only
//     lines without an ASCII letter or digit, separate them.
//
// The result is data (Result): Hunks partition the three inputs into
// unchanged stretches, one-sided changes, changes both sides share and
// conflicts, in order. Resolve gives the merged text with each conflict
// settled for one side (git merge-file --ours/--theirs); Markers renders
// git's conflict markers in merge, diff3 or zdiff3 style. The diff3
// styles skip steps 2 and 3, as git does, since they show the base of
// each conflict. A conflict's marker lines end in CRLF when git would
// (the lines before it in ours and theirs, then the first base line, end
// in CRLF), and a conflict side missing its final newline gets one.
// ConflictPaths names each conflict by the base lines it covers, for
// conflict records.
//
// Merges are pure: the same inputs give the same bytes on every machine.
//
// # Agreement with git
//
// The tests check folio against git merge-file on generated cases: a
// window of a file from a seeded corpus (text shaped like source code,
// prose and configuration, with the repeated lines real files have) as
// base, seeded line edits (insertions, deletions, replacements, moved and
// duplicated lines, whitespace-only changes, edits clustered so that some
// overlap or touch, CRLF files, missing final newlines, large scrambled
// blocks that push the diff past its cost limits) as ours and theirs. The
// cases depend on the seed only, not on the machine. A 50-case sample
// runs with every go test when git is on PATH and must agree in 95% of
// cases on every measure; FOLIO_GIT_AGREEMENT=1 runs 1,500, prints the
// shares and requires 99% (both measured 100%). Cases that once
// disagreed are kept in testdata/merge/text, which also checks each case
// against git.
//
// # Unified diffs
//
// Unified prints a diff in the format of diff -u and git diff (with
// --no-indent-heuristic, and without git's function names after "@@").
package text
