package wire

import (
	"errors"
	"strings"

	"github.com/folio-db/folio/objects"
)

// Sentinel errors of the replication protocol. Like those of objects, they
// keep their meaning across the HTTP round trip.
var (
	// ErrTruncated: a pack or message that ended before its end: no
	// trailer, or cut anywhere. Usually the connection, not the sender.
	ErrTruncated = errors.New("wire: truncated")
	// ErrUnauthorized: the request carries no valid credentials.
	ErrUnauthorized = errors.New("wire: unauthorized")
	// ErrForbidden: the credentials are valid but do not allow this
	// (a read-only token used to push).
	ErrForbidden = errors.New("wire: forbidden")
	// ErrBadRequest: a control message the server cannot use (malformed
	// JSON, a missing field).
	ErrBadRequest = errors.New("wire: bad request")
	// ErrClockAhead: pushed commits carry commit times too far ahead of
	// the receiving leader's clock: the sender's clock is probably wrong.
	ErrClockAhead = errors.New("wire: clock ahead")
	// ErrInternal: anything else, and any code this build does not know.
	ErrInternal = errors.New("wire: internal error")
)

// Error is the JSON body of every failed request. It is also the error that
// CodeError returns: errors.Is matches the sentinel its Code names.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error returns the message, which is the text of the error it was made
// from, so an error reads the same on both sides of the wire.
func (e *Error) Error() string {
	if e.Message == "" {
		return sentinelOf(e.Code).Error()
	}
	return e.Message
}

// Unwrap returns the sentinel the code stands for.
func (e *Error) Unwrap() error { return sentinelOf(e.Code) }

// codes maps each sentinel to its stable code. The codes are part of the
// protocol: never change or reuse one. ErrorCode tries them in this order,
// so an error wrapping several sentinels gets the first.
var codes = []struct {
	code string
	err  error
}{
	{"not_found", objects.ErrNotFound},
	{"ref_changed", objects.ErrRefChanged},
	{"truncated", ErrTruncated},
	{"too_large", objects.ErrTooLarge},
	{"unknown_format", objects.ErrUnknownFormat},
	{"ref_damaged", objects.ErrRefDamaged}, // an objects.ErrCorrupt too
	{"corrupt", objects.ErrCorrupt},
	{"damaged", objects.ErrDamaged}, // the server's own copy: HTTP 500
	{"invalid_key", objects.ErrInvalidKey},
	{"invalid_ref", objects.ErrInvalidRef},
	{"invalid_id", objects.ErrInvalidID},
	{"unauthorized", ErrUnauthorized},
	{"forbidden", ErrForbidden},
	{"bad_request", ErrBadRequest},
	{"non_fast_forward", ErrNonFastForward},
	{"precondition_failed", ErrPrecondition},
	{"no_space", objects.ErrNoSpace},
	{"clock_ahead", ErrClockAhead},
	{"feed_reset", objects.ErrFeedReset},
	{"ref_not_damaged", objects.ErrRefNotDamaged},
	{"internal", ErrInternal},
}

// ErrorCode returns the stable code of err: the code of the first sentinel
// it wraps, "internal" if none, "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal"
}

// CodeError returns the error a client reports for a code and message
// received from a server: errors.Is(err, sentinel) holds for the sentinel
// the code stands for (ErrInternal for a code this build does not know),
// and err.Error() is message.
func CodeError(code, message string) error {
	return &Error{Code: code, Message: message}
}

func sentinelOf(code string) error {
	for _, c := range codes {
		if c.code == code {
			return c.err
		}
	}
	return ErrInternal
}

// packageNames prefix the sentinel errors of folio's packages: they say
// where an error comes from to a programmer and nothing to a user.
var packageNames = map[string]bool{"objects": true, "repo": true, "badgerstore": true, "prolly": true,
	"merge": true, "remote": true, "transfer": true, "wire": true, "jsonmerge": true, "client": true, "server": true}

// UserMessage is an error's text for people and API clients: without the
// "pkg: " parts of the packages' sentinels (which stay in %w chains and
// logs). "wire: corrupt: frame: objects: not found" reads "corrupt: frame:
// not found".
func UserMessage(err error) string { return UserText(err.Error()) }

// UserText is UserMessage for an error's text kept apart from the error
// (an fsck report's messages).
func UserText(msg string) string {
	parts := strings.Split(msg, ": ")
	kept := parts[:0]
	for _, p := range parts {
		if !packageNames[p] {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ": ")
}
