package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

// status maps an error's stable code to an HTTP status.
func status(err error) int {
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable
	case errors.Is(err, repo.ErrNoSuchKey), errors.Is(err, repo.ErrNoCommits), errors.Is(err, repo.ErrNoRepository):
		return http.StatusNotFound
	}
	switch wire.ErrorCode(err) {
	case "precondition_failed":
		return http.StatusPreconditionFailed
	case "non_fast_forward":
		return http.StatusConflict
	case "not_found":
		return http.StatusNotFound
	case "ref_changed", "ref_not_damaged":
		return http.StatusConflict
	case "too_large":
		return http.StatusRequestEntityTooLarge
	case "unauthorized":
		return http.StatusUnauthorized
	case "forbidden":
		return http.StatusForbidden
	case "no_space":
		return http.StatusInsufficientStorage
	case "feed_reset":
		return http.StatusGone
	case "truncated", "unknown_format", "corrupt", "ref_damaged", "invalid_key", "invalid_ref", "invalid_id", "bad_request", "clock_ahead":
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// code is the stable code of an error, including the server's own.
func code(err error) string {
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes):
		return "too_large"
	case errors.Is(err, ErrBusy):
		return "busy"
	case errors.Is(err, repo.ErrNoSuchKey), errors.Is(err, repo.ErrNoCommits), errors.Is(err, repo.ErrNoRepository):
		return "not_found"
	}
	return wire.ErrorCode(err)
}

// writeError sends a JSON error. Internal errors are logged and reported
// without detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	st := status(err)
	msg := wire.UserMessage(err)
	if st == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		if !errors.Is(err, objects.ErrDamaged) { // which key and object: no secret, and what an operator needs
			msg = "internal error"
		}
	}
	if st == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="folio"`)
	}
	writeJSON(w, st, wire.Error{Code: code(err), Message: msg})
}

// writeJSON sends v as JSON with its checksum, so that a client acts on
// no flipped byte of a refs listing or a push's reply.
func writeJSON(w http.ResponseWriter, st int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	w.Header().Set("Content-Type", wire.ContentJSON)
	w.Header().Set(wire.ChecksumHeader, wire.Checksum(buf.Bytes()))
	w.WriteHeader(st)
	w.Write(buf.Bytes())
}

// badRequest wraps a message as a bad-request error.
func badRequest(msg string) error { return &wire.Error{Code: "bad_request", Message: msg} }
