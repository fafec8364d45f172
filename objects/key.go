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

// ValidateNewKey checks a key that is about to be written: ValidateKey's
// rules, and no segment that names a .git or .folio folder (ReservedName).
// Every place that writes a document under a key calls it (staging, the
// document API, import, receipt from a peer); reads and deletes call only
// ValidateKey, so repositories that already hold such keys stay readable
// and can be cleaned up.
func ValidateNewKey(key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if ReservedName(seg) {
			return fmt.Errorf("%w %q: %q names a .git or .folio folder, which belong to git and folio", ErrInvalidKey, key, seg)
		}
	}
	return nil
}

// reservedNames are the folders folio never writes documents into, as
// case-insensitive filesystems see them: git's metadata, folio's own
// (repo.DirName) and their NTFS short names.
var reservedNames = []string{".git", ".folio", "git~1", "folio~1"}

// ReservedName reports whether a file name is one a filesystem may take for
// .git or .folio: compared without case, ignoring trailing dots and spaces
// (Windows drops them) and the code points HFS+ ignores (as git does).
func ReservedName(name string) bool {
	if len(name) < len(".git") {
		return false
	}
	name = strings.Map(func(r rune) rune {
		if isHFSIgnorable(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimRight(name, ". ")
	for _, r := range reservedNames {
		if strings.EqualFold(name, r) {
			return true
		}
	}
	return false
}

// isHFSIgnorable reports the code points HFS+ leaves out of file names.
func isHFSIgnorable(r rune) bool {
	return r >= 0x200c && r <= 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x206a && r <= 0x206f || r == 0xfeff
}

// ValidatePrefix checks a key prefix used for listing: empty, or a valid
// key optionally followed by '/'.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return ValidateKey(strings.TrimSuffix(prefix, "/"))
}
