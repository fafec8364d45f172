// Package sequence diffs and three-way merges sequences of tokens. Text
// merge feeds it lines, JSON merge feeds it array elements; each caller
// turns its items into uint64 tokens (equal items, equal tokens) first.
//
// Diff is Myers' O(ND) algorithm in linear space (the middle-snake
// recursion), after trimming the common prefix and suffix. A cost limit
// bounds the work on inputs that share almost nothing: past it the
// recursion splits at the furthest-reaching point instead of the optimal
// one, as Git's xdiff does. The result is still a correct edit script, and
// it depends only on the inputs: no time-outs, no randomness.
//
// Merge is diff3: it diffs base->ours and base->theirs, groups changes
// whose base ranges overlap or touch, and classifies every span of the
// base as stable, changed on one side, changed the same way on both, or
// in conflict. Touching changes conflict, as in git merge-file.
package sequence
