package objects

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers test them with errors.Is; they keep their meaning
// across the HTTP round trip (the remote package maps them to stable codes).
var (
	// ErrNotFound: the object or ref does not exist.
	ErrNotFound = errors.New("objects: not found")
	// ErrCorrupt marks data that fails its hash, structure or canonical-form
	// checks. Wrapped errors carry the detail.
	ErrCorrupt = errors.New("objects: corrupt object")
	// ErrDamaged: a stored object whose bytes no longer hash to its ID
	// (a disk or file that changed under the store). Unlike ErrCorrupt,
	// which is bad input, it is the store's own fault; the object can be
	// fetched again by ID from another leader (fsck --repair).
	ErrDamaged = errors.New("objects: damaged object")
	// ErrUnknownFormat: a type tag, format version or repository format
	// this build does not know. Never guessed at.
	ErrUnknownFormat = errors.New("objects: unknown format")
	// ErrInvalidID: text that is not a valid ID.
	ErrInvalidID = errors.New("objects: invalid ID")
	// ErrInvalidKey: a document key that breaks the key rules.
	ErrInvalidKey = errors.New("objects: invalid key")
	// ErrInvalidRef: a ref name that breaks the ref name rules.
	ErrInvalidRef = errors.New("objects: invalid ref name")
	// ErrRefChanged: a compare-and-swap on a ref found another value than
	// the one the writer read.
	ErrRefChanged = errors.New("objects: ref changed")
	// ErrTooLarge: an object or request over a size limit.
	ErrTooLarge = errors.New("objects: too large")
	// ErrNoSpace: the disk is too full to write safely. Nothing was
	// written; reads still work.
	ErrNoSpace = errors.New("objects: no space left on device")
	// ErrRefDamaged: a ref's stored value fails its check (a disk that
	// changed under the store). It is an ErrCorrupt; a store that can tell
	// damaged refs apart lists them (fsck) and drops them (DamagedRef).
	ErrRefDamaged = fmt.Errorf("%w: damaged ref", ErrCorrupt)
	// ErrRefNotDamaged: a ref asked to be dropped as damaged passes its
	// check; nothing was changed.
	ErrRefNotDamaged = errors.New("objects: ref is not damaged")
)
