// Package jsonmerge three-way merges JSON documents and diffs them path by
// path. Merge results are data: a merge always yields a valid JSON
// document plus the list of places where the two sides conflicted, each
// named by an RFC 6901 JSON pointer; errors are only for input that is not
// JSON or breaks a limit, and tell the caller to merge the document some
// other way (as text).
//
// # Values
//
// Inputs are parsed by a scanner of our own that keeps the text: every
// value remembers where it is written, so output copies numbers and
// strings exactly as written (1.0 stays 1.0, escapes stay escapes). Each
// value also gets a digest, a BLAKE3 of a canonical form, that says when
// two values are equal as JSON: numbers compare as exact decimals (1, 1.0
// and 10e-1 are equal; nothing is rounded through float64), strings by
// what they decode to, objects by their members whatever the key order.
// Comparisons in merge and diff use digests, so formatting never counts as
// a change. Input must be UTF-8; a leading byte order mark is accepted
// and stays in the text before the value (so ours' mark is kept). An
// object that repeats a key is rejected
// (ErrNotJSON): JSON parsers disagree on which value counts, and the
// merge will not guess.
//
// # Merge rules
//
// Per value, with base, ours and theirs at the same path:
//
//   - theirs equals base, or ours equals theirs: ours;
//   - all three objects (or base absent): merge key by key;
//   - all three arrays (or base absent): merge as sequences, below;
//   - ours equals base: theirs;
//   - anything else (both changed a scalar, or a type) conflicts at that
//     path and the winner's value stands.
//
// For a key only one side has: added there (no base) is kept; deleted by
// the other side is deleted if the keeping side left it unchanged, and is
// a delete/modify conflict otherwise, where the winner's choice stands
// (gone, or the modified value). A key added on both sides merges as above
// with no base, so two added objects merge against an empty object. A
// key deleted on both sides is gone. An empty base (the document did not
// exist) merges the whole documents the same way.
//
// Arrays are diff3 over elements (merge/sequence), elements compared by
// digest, where only changes to the same elements meet (the Overlapping
// grouping): unlike lines of text, neighbouring elements are independent
// values. So:
//
//   - changes on one side apply; the same change on both applies once;
//   - edits to different elements never conflict, even adjacent ones (one
//     side inserts before element i, the other edits or deletes it);
//   - when both sides insert at the same place, both insertions are kept,
//     ours first, as git's union merge does; elements both inserted are
//     kept once (the two runs are diffed, and where they differ ours'
//     elements come before theirs'). This is the commonest concurrent
//     edit of a JSON file, two people appending to one list, and people
//     keep both. It holds for every array, of objects or of scalars, and
//     the arrays where it applied are listed in Result.Unions;
//   - changes to the same elements conflict: a region with as many
//     elements in base, ours and theirs is merged position by position
//     (edits to different fields of one element merge recursively); any
//     other (say, one side deletes an element the other edits) takes the
//     winner's elements and records one conflict at the array's own path,
//     whose Base, Ours and Theirs are the three whole arrays.
//
// "Ours first" makes the merge depend on which side is ours, beyond the
// winner: swapping the sides reorders those insertions. Merges that must
// agree on every leader put the sides in a canonical order first (the
// converging merge in package merge makes the smaller head ID ours).
//
// Conflicts are listed in document order of the merged document, a
// parent before what is inside it; a key the winner deleted is listed
// where it would have been.
//
// # Output layout
//
// The merged document is written around ours: ours' whitespace before and
// after the top value, ours' key order, and ours' text for every value
// taken from ours or merged inside. Each of ours' members keeps the
// whitespace before it. A new member takes the plainest whitespace that
// follows a comma in ours' composite (so not a blank line that separates
// groups), or else ours' detected style: compact or one line, newline (LF
// or CRLF) plus N spaces or tabs per level, the spacing after colons and
// commas; what ours does not show (an empty object has no colon) comes
// from theirs. A composite ours keeps on one line stays on one line.
// Values from theirs are copied as written when theirs has the same
// style, and laid out again in ours' style otherwise.
//
// A key only theirs has goes right after the nearest key before it in
// theirs that ours has too; if no shared key comes before it, right before
// the first shared key after it; if theirs shares no key with ours, at the
// end. So an inserted key lands next to the neighbours it had in theirs.
//
// When theirs equals base or ours equals theirs, byte for byte, the
// result is ours exactly; when ours equals base, it is theirs exactly.
// More generally, a side's pure reformatting (a value equal to base's,
// written differently: new whitespace or key order) is kept where the
// other side did not change those bytes: when theirs reformatted a value
// whose text ours left as base's, theirs' text is taken; when theirs
// reformatted a value inside which ours changed something, that value
// (the whole document, if theirs only reformatted it) is written around
// theirs' layout with ours' changes. This is what a line merge gives when
// the edits do not meet, and what people commit.
//
// # Conflict markers
//
// MergeVersions writes the merge three times, with base's, ours' and
// theirs' values at the conflicts and the same bytes everywhere else.
// A line merge of the three (merge.File, folio merge-file) then draws
// git-style markers around the lines that hold conflicting values, with
// every clean change merged outside them. This is the documented choice
// for JSON conflicts in merge-file, rather than git's line merge of the
// inputs: that merge can be clean where the structure conflicts (printing
// a duplicate key, or dropping one side's change), and where it conflicts
// it shows more than the conflict. A value base lacks is left out of
// base's version.
// Merges are pure: no map iteration order, clock, randomness or floating
// point reaches the output.
//
// # Diff
//
// Diff lists the changes from one document to another by value, as JSON
// Patch operations (add, remove, replace) at JSON pointers, in document
// order. Applied in order they turn the first document into one equal in
// value to the second, which is how the tests check them.
//
// # Limits
//
// Inputs over MaxSize bytes fail with ErrTooLarge and nesting deeper than
// MaxDepth fails with ErrTooDeep, before any deep recursion: the parser
// stops at the limit, and every later walk is bounded by it.
package jsonmerge
