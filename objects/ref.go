package objects

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ref name prefixes.
const (
	BranchPrefix     = "refs/heads/"
	TagPrefix        = "refs/tags/"
	RemotePrefix     = "refs/remotes/"
	WorkingSetPrefix = "workingsets/" // + the branch's full ref name
)

// MaxRefLen bounds the length of a ref name.
const MaxRefLen = 1024

// ValidateRefName checks a full ref name ("refs/heads/main"): '/'-separated
// non-empty segments that do not start with '.' or end with ".lock", and no
// "..", control characters, spaces or any of ~^:?*[\ (Git's rules, so names
// move between the two tools).
func ValidateRefName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidRef, name, why)
	}
	if name == "" || len(name) > MaxRefLen {
		return bad("empty or too long")
	}
	if !utf8.ValidString(name) {
		return bad("not valid UTF-8")
	}
	if strings.Contains(name, "..") || strings.Contains(name, "@{") {
		return bad("contains '..' or '@{'")
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.IsSpace(r) || strings.ContainsRune("~^:?*[\\", r) {
			return bad(fmt.Sprintf("contains %q", r))
		}
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") || strings.HasSuffix(seg, ".lock") {
			return bad("empty segment, or one starting with '.' or ending with '.lock'")
		}
	}
	if strings.HasSuffix(name, ".") {
		return bad("ends with '.'")
	}
	return nil
}

// ValidateShortName refuses the short names of branches, tags and
// remotes that would be read as something else: HEAD and @ name the
// current commit in a revision, and a leading '-' reads as a flag.
func ValidateShortName(name string) error {
	if name == "HEAD" || name == "@" || strings.HasPrefix(name, "-") {
		return fmt.Errorf("%w %q: not a usable name (HEAD and @ name the current commit, and a leading '-' reads as a flag)", ErrInvalidRef, name)
	}
	return nil
}

// ValidateTagName checks a short tag name ("v1.0").
func ValidateTagName(name string) error {
	if err := ValidateShortName(name); err != nil {
		return err
	}
	return ValidateRefName(TagPrefix + name)
}

// ValidateBranchName checks a short branch name ("main", "feature/x").
func ValidateBranchName(name string) error {
	if err := ValidateShortName(name); err != nil {
		return err
	}
	if err := ValidateRefName(BranchPrefix + name); err != nil {
		return err
	}
	// Its working set lives at WorkingSetPrefix + the full ref name.
	if n := len(WorkingSetPrefix) + len(BranchPrefix) + len(name); n > MaxRefLen {
		return fmt.Errorf("%w: a %d-byte branch name is too long for its working set", ErrInvalidRef, len(name))
	}
	return nil
}

// CheckRefUpdates validates a batch of ref updates before a store applies
// it: valid names, each ref at most once.
func CheckRefUpdates(updates []RefUpdate) error {
	seen := make(map[string]bool, len(updates))
	for _, u := range updates {
		if err := ValidateRefName(u.Name); err != nil {
			return err
		}
		if seen[u.Name] {
			return fmt.Errorf("%w %q: updated twice in one batch", ErrInvalidRef, u.Name)
		}
		seen[u.Name] = true
	}
	return nil
}

// RefChangedError reports a failed compare-and-swap.
func RefChangedError(u RefUpdate, current ID) error {
	describe := func(id ID) string {
		if id.IsZero() {
			return "absent"
		}
		return id.Short()
	}
	return fmt.Errorf("%w: %s is %s, expected %s", ErrRefChanged, u.Name, describe(current), describe(u.Old))
}
