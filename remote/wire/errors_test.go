package wire_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// Every sentinel survives the trip error -> code -> error, and keeps its
// code on a second hop (a server relaying a failure it got from another).
func TestErrorCodeRoundTrip(t *testing.T) {
	tests := []struct {
		sentinel error
		code     string
	}{
		{objects.ErrNotFound, "not_found"},
		{objects.ErrRefChanged, "ref_changed"},
		{objects.ErrCorrupt, "corrupt"},
		{objects.ErrRefDamaged, "ref_damaged"},
		{objects.ErrRefNotDamaged, "ref_not_damaged"},
		{objects.ErrDamaged, "damaged"},
		{objects.ErrUnknownFormat, "unknown_format"},
		{objects.ErrTooLarge, "too_large"},
		{objects.ErrInvalidKey, "invalid_key"},
		{objects.ErrInvalidRef, "invalid_ref"},
		{objects.ErrInvalidID, "invalid_id"},
		{wire.ErrUnauthorized, "unauthorized"},
		{wire.ErrForbidden, "forbidden"},
		{wire.ErrTruncated, "truncated"},
		{wire.ErrBadRequest, "bad_request"},
		{wire.ErrInternal, "internal"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if seen[tt.code] {
				t.Fatalf("code %q used twice", tt.code)
			}
			seen[tt.code] = true
			local := fmt.Errorf("push refs/heads/main: %w", tt.sentinel)
			code := wire.ErrorCode(local)
			if code != tt.code {
				t.Fatalf("ErrorCode = %q, want %q", code, tt.code)
			}
			remote := wire.CodeError(code, local.Error())
			if !errors.Is(remote, tt.sentinel) {
				t.Fatalf("CodeError(%q) is not %v", code, tt.sentinel)
			}
			if remote.Error() != local.Error() {
				t.Fatalf("message %q, want %q", remote.Error(), local.Error())
			}
			if again := wire.ErrorCode(fmt.Errorf("relayed: %w", remote)); again != code {
				t.Fatalf("second hop: code %q, want %q", again, code)
			}
			for _, other := range tests {
				// A sentinel that wraps another (ErrRefDamaged, an
				// ErrCorrupt) matches it on both sides.
				if other.sentinel != tt.sentinel && errors.Is(remote, other.sentinel) && !errors.Is(tt.sentinel, other.sentinel) {
					t.Fatalf("CodeError(%q) also matches %v", code, other.sentinel)
				}
			}
		})
	}
}

func TestErrorCodeOfOtherErrors(t *testing.T) {
	if code := wire.ErrorCode(nil); code != "" {
		t.Fatalf("ErrorCode(nil) = %q, want empty", code)
	}
	if code := wire.ErrorCode(errors.New("disk on fire")); code != "internal" {
		t.Fatalf("an unknown error has code %q, want internal", code)
	}
	// The more telling sentinel wins when an error wraps two.
	both := fmt.Errorf("%w: %w", wire.ErrTruncated, objects.ErrCorrupt)
	if code := wire.ErrorCode(both); code != "truncated" {
		t.Fatalf("truncated and corrupt: code %q, want truncated", code)
	}
}

func TestCodeErrorOfUnknownCode(t *testing.T) {
	err := wire.CodeError("added_in_v9", "something new")
	if !errors.Is(err, wire.ErrInternal) || err.Error() != "something new" {
		t.Fatalf("unknown code: %v (internal: %t)", err, errors.Is(err, wire.ErrInternal))
	}
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != "added_in_v9" {
		t.Fatalf("the code is not kept: %#v", we)
	}
	if msg := wire.CodeError("not_found", "").Error(); msg != objects.ErrNotFound.Error() {
		t.Fatalf("empty message reads %q, want the sentinel's text", msg)
	}
}

// The JSON shape is part of the protocol.
func TestErrorJSON(t *testing.T) {
	b, err := json.Marshal(wire.Error{Code: "ref_changed", Message: "objects: ref changed: refs/heads/main"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"code":"ref_changed","message":"objects: ref changed: refs/heads/main"}`; string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
	var back wire.Error
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(&back, objects.ErrRefChanged) {
		t.Fatal("decoded Error does not match its sentinel")
	}
}

// UserMessage drops the packages' prefixes and nothing else.
func TestUserMessage(t *testing.T) {
	for in, want := range map[string]string{
		"repo: no repository": "no repository",
		"push origin: remote: objects: not found: no such remote: x": "push origin: not found: no such remote: x",
		"sync at https://127.0.0.1:80/: wire: truncated":             "sync at https://127.0.0.1:80/: truncated",
		"a remote: the remote said no":                               "a remote: the remote said no",
		"client: timed out: http://h/: no reply within 1s":           "timed out: http://h/: no reply within 1s",
	} {
		if got := wire.UserMessage(errors.New(in)); got != want {
			t.Errorf("UserMessage(%q) = %q, want %q", in, got, want)
		}
	}
}
