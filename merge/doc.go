// Package merge reconciles divergent histories: it finds merge bases, merges
// documents (line diff3 for text, structural merge for JSON, whole values
// for binary) and whole indexes, and builds merge commits.
//
// Merges are pure: the same inputs give the same bytes on every machine.
// Nothing inside depends on time-outs, randomness, map iteration order,
// the wall clock or the locale.
//
// Conflicts are data, not errors. A conflicting document still gets a
// merged version: every clean change, plus the winner's side of each
// conflicting region. A conflict record keeps the whole base, ours and
// theirs versions, so nothing of the losing side is lost; records live in
// the commit's conflicts map until resolved.
//
// The winner rule (DESIGN invariant 13, clocks are hints): the winner is
// the side whose head commit has the later commit time, ties broken by the
// larger commit ID. The commit time is a hybrid logical clock stamped by
// the leader that made the commit (objects/repo.WriteCommit): its clock,
// but never earlier than a parent's commit time, so a commit made after
// seeing another always beats it, whatever the clocks say. The author
// date is never consulted: anyone can set it (FOLIO_AUTHOR_DATE), so it
// would let a writer win every conflict by dating a commit in 2099. A
// server refuses pushed commits dated far ahead of its own clock, which
// bounds how far one leader's fast clock can tilt the rule. The rule
// depends only on the two head commits, so swapping the sides swaps the
// answer and every leader agrees on it.
//
// An index merge is driven by the prolly diffs base->ours and
// base->theirs, so its work grows with the documents that changed, not
// with the size of the index.
//
// File merges three versions of a file for folio merge-file, by lines
// or by JSON structure (chosen by the caller, from the file's name: see
// IsJSONPath); a JSON merge that records a conflict is never reported
// clean, and is drawn with markers around the conflicting values.
//
// Several merge bases (criss-cross histories) are first merged into one
// virtual base, in a fixed order, as Git's recursive strategy does.
//
// Converge builds the merge commit that sync uses: the two heads are put in
// canonical order and the commit's metadata comes from the parents only
// (author date and commit time: the later parent's commit time), so any
// leader merging the same two heads creates a byte-identical commit,
// whatever its own clock reads.
package merge
