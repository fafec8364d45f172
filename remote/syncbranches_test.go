package remote

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"main", "main", true},
		{"main", "mainx", false},
		{"main", "mai", false},
		{"*", "team/x/y", true},
		{"*", "", true},
		{"team/*", "team/x", true},
		{"team/*", "team/x/y", true},
		{"team/*", "team", false},
		{"team/*", "teams/x", false},
		{"*/fix", "a/b/fix", true},
		{"*/fix", "a/b/fixed", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXcYb", false},
		{"**x", "x", true},
	} {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// FuzzGlobMatch checks globMatch against a regular expression that means
// the same.
func FuzzGlobMatch(f *testing.F) {
	f.Add("team/*", "team/x")
	f.Add("a*b*c", "aXbYbZc")
	f.Add("*", "")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 {
			return
		}
		parts := strings.Split(pattern, "*")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return // the regexp works on runes, globMatch on bytes
		}
		want := regexp.MustCompile(`(?s)\A` + strings.Join(parts, ".*") + `\z`).MatchString(s)
		if got := globMatch(pattern, s); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, the regexp says %v", pattern, s, got, want)
		}
	})
}
