package jsonmerge

import "errors"

// Limits on what Merge and Diff accept. Both bound memory and work: the
// parse keeps a few dozen bytes per JSON value, and every step that walks
// the tree recurses at most MaxDepth levels.
const (
	// MaxDepth is the deepest nesting of arrays and objects accepted:
	// a document of MaxDepth nested arrays parses, one more does not.
	MaxDepth = 1000
	// MaxSize is the largest input accepted, in bytes.
	MaxSize = 16 << 20
)

// Errors. ErrNotJSON, ErrTooDeep and ErrTooLarge all mean "this input
// cannot be merged as JSON": the caller falls back to the text merge (or
// to a whole-document merge).
var (
	// ErrNotJSON: an input is not one valid JSON value in UTF-8, or an
	// object repeats a key.
	ErrNotJSON = errors.New("jsonmerge: not JSON")
	// ErrTooDeep: arrays and objects nest deeper than MaxDepth.
	ErrTooDeep = errors.New("jsonmerge: nesting too deep")
	// ErrTooLarge: an input is larger than MaxSize.
	ErrTooLarge = errors.New("jsonmerge: document too large")
	// ErrInvalidWinner: the winner is neither objects.SideOurs nor
	// objects.SideTheirs.
	ErrInvalidWinner = errors.New("jsonmerge: winner must be ours or theirs")
)
