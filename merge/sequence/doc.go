// Package sequence diffs and three-way merges sequences of tokens. Text
// merge feeds it lines, JSON merge feeds it array elements; each caller
// turns its items into uint64 tokens (equal items, equal tokens) first.
//
// # Diff
//
// Diff makes the same choices as Git's xdiff in its default (Myers) mode,
// because text merges are judged against git merge-file and a diff that
// is merely as short as Git's can still align changes differently (which
// of two equal lines is "kept" decides where a conflict lands). The steps:
//
//   - The common prefix and suffix are set aside.
//   - Pruning: a token that never occurs in the other input is changed
//     for sure and is not searched at all; a token that occurs very often
//     in the other input (at least about the square root of the input's
//     length) is dropped too when it sits in a run that is mostly such
//     unmatched tokens. This makes the search cheap on real files, and
//     the script can come out slightly longer than the shortest.
//   - Myers' O(ND) search in linear space: forward and backward searches
//     meet in a middle snake, and the box is split there recursively.
//     Past an edit cost of 256 a long matching run that reaches far may
//     end the search early, and past about the square root of the input
//     size (at least 256) the furthest point reached is taken. Both keep
//     the script correct and bound the work on inputs that share little.
//   - Compaction: every group of changed tokens is slid as far down as
//     equal tokens allow, then back up to line up with a change of the
//     other input if it passed one, so deletions pair with insertions.
//
// Everything depends on the inputs alone: no time-outs, no randomness,
// no map iteration.
//
// # Merge
//
// Merge is diff3: it diffs base->ours and base->theirs, groups changes,
// and classifies every span of the base as stable, changed on one side,
// changed the same way on both, or in conflict. The Touching grouping
// groups changes whose base ranges overlap or touch, so touching changes
// conflict, as in git merge-file. The Overlapping grouping, for tokens
// that stand alone (JSON array elements), groups only changes that share
// a base token, an insertion with a change spanning its point, and two
// insertions at the same point; a change next to another stays its own
// region. Text merge (merge/text) builds its own, finer grouping on the
// same Diff, because git merge-file also refines conflicts line by line.
package sequence
