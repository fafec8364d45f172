package objects

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxKeyLen is the longest document key, in bytes.
const MaxKeyLen = 1024

// ValidateKey checks a document key: a '/'-separated UTF-8 path with no
// empty segment, no "." or ".." segment, no NUL or control characters,
// at most MaxKeyLen bytes. It runs on every key of every node read, so
// printable ASCII keys take a single pass over their bytes.
func ValidateKey(key string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why)
	}
	switch {
	case key == "":
		return bad("empty")
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: %d bytes long, the limit is %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	start := 0 // of the current segment
	for i := 0; i <= len(key); i++ {
		if i < len(key) {
			c := key[i]
			if c >= 0x80 {
				return validateNonASCIIKey(key, bad)
			}
			if c < 0x20 || c == 0x7f {
				return bad("contains a control character")
			}
			if c != '/' {
				continue
			}
		}
		switch key[start:i] {
		case "":
			return bad("empty path segment")
		case ".", "..":
			return bad("'.' and '..' segments are not allowed")
		}
		start = i + 1
	}
	return nil
}

// validateNonASCIIKey is ValidateKey's slow path, rune by rune.
func validateNonASCIIKey(key string, bad func(string) error) error {
	if !utf8.ValidString(key) {
		return bad("not valid UTF-8")
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return bad("contains a control character")
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return bad("empty path segment")
		case ".", "..":
			return bad("'.' and '..' segments are not allowed")
		}
	}
	return nil
}

// ValidatePrefix checks a key prefix used for listing: empty, or a valid
// key optionally followed by '/'.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return ValidateKey(strings.TrimSuffix(prefix, "/"))
}
