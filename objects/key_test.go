package objects_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

// keyCases follow DESIGN.md's definition of a key: a '/'-separated UTF-8
// path, no empty segment, no "." or "..", no NUL or control characters, at
// most 1024 bytes.
var keyCases = []struct {
	key string
	ok  bool
}{
	// Plain keys.
	{"a", true},
	{"docs/hello.txt", true},
	{"a/b/c/d/e/f", true},
	{longKey(objects.MaxKeyLen), true},
	{strings.Repeat("a/", objects.MaxKeyLen/2-1) + "zz", true}, // 1024 bytes in 512 segments
	{strings.Repeat("é", objects.MaxKeyLen/2), true},           // 1024 bytes of 2-byte runes
	// Spaces and punctuation are fine in keys (unlike ref names).
	{"my doc", true},
	{" leading space", true},
	{"trailing space ", true},
	{"a b/c d", true},
	{"~^:?*[\\@{}", true},
	// Dots are fine unless a whole segment is "." or "..".
	{".hidden", true},
	{"a/.b", true},
	{"a.", true},
	{"...", true},
	{"a/.../b", true},
	{"a..b", true},
	// Unicode is fine: letters, CJK, emoji, combining marks.
	{"документы/заметка", true},
	{"文档/说明.md", true},
	{"📄/😀", true},
	{"e\u0301", true},
	{"\uFFFD", true}, // the replacement character itself is valid UTF-8
	// Empty, too long.
	{"", false},
	{longKey(objects.MaxKeyLen + 1), false},
	{strings.Repeat("é", objects.MaxKeyLen/2) + "a", false},
	// Invalid UTF-8.
	{"\xff", false},
	{"a/\xc3", false},               // truncated 2-byte sequence
	{"\xc0\xaf", false},             // overlong encoding of '/'
	{"\xed\xa0\x80", false},         // a UTF-16 surrogate
	{"\xf4\x90\x80\x80", false},     // beyond U+10FFFF
	{"ok/" + "\x80" + "/ok", false}, // stray continuation byte
	// NUL and other C0 controls, DEL, C1 controls.
	{"\x00", false},
	{"a\x00b", false},
	{"a\x01", false},
	{"a\tb", false},
	{"a\nb", false},
	{"a\rb", false},
	{"\x1b[31m", false},
	{"\x1f", false},
	{"a\x7f", false},
	{"a\u0080", false},
	{"a\u0085b", false}, // NEL
	{"a\u009f", false},
	// Empty segments, leading or trailing '/'.
	{"/", false},
	{"//", false},
	{"/a", false},
	{"a/", false},
	{"a//b", false},
	{"a/b/", false},
	// "." and ".." segments.
	{".", false},
	{"..", false},
	{"./a", false},
	{"a/.", false},
	{"a/./b", false},
	{"../a", false},
	{"a/..", false},
	{"a/../b", false},
}

func TestValidateKey(t *testing.T) {
	for _, tc := range keyCases {
		err := objects.ValidateKey(tc.key)
		switch {
		case tc.ok && err != nil:
			t.Errorf("ValidateKey(%.40q) = %v, want nil", tc.key, err)
		case !tc.ok && !errors.Is(err, objects.ErrInvalidKey):
			t.Errorf("ValidateKey(%.40q) = %v, want ErrInvalidKey", tc.key, err)
		}
	}
}

// The format-character and separator categories are not control
// characters: the code accepts them. Recorded so a change is deliberate.
func TestValidateKeyAcceptsNonControlInvisibles(t *testing.T) {
	for _, key := range []string{
		"a\u00a0b", // no-break space
		"a\u200bb", // zero-width space
		"a\u2028b", // line separator
		"a\u202eb", // right-to-left override
		"\ufeffa",  // byte order mark
	} {
		if err := objects.ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q) = %v", key, err)
		}
	}
}

func TestValidateKeyErrorNamesTheRule(t *testing.T) {
	for key, want := range map[string]string{
		"":                             "empty",
		"a//b":                         "empty path segment",
		"a/..":                         "'.'",
		"a\x00":                        "control",
		"\xff":                         "UTF-8",
		longKey(objects.MaxKeyLen + 1): "1025 bytes",
	} {
		err := objects.ValidateKey(key)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateKey(%.20q) = %v, want it to mention %q", key, err, want)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		ok     bool
	}{
		{"", true}, // lists everything
		{"a", true},
		{"docs/", true},
		{"docs/images/", true},
		{"docs/ima", true}, // a byte prefix of a key, not only whole segments
		{longKey(objects.MaxKeyLen) + "/", true},
		{"/", false},
		{"//", false},
		{"/docs", false},
		{"docs//", false},
		{"docs//x", false},
		{".", false},
		{"./", false},
		{"a/../", false},
		{"a\x00", false},
		{"a\n/", false},
		{"\xff/", false},
		{longKey(objects.MaxKeyLen+1) + "/", false},
		// A prefix must itself be a valid key (plus an optional '/'), so
		// "a/." is refused even though the valid key "a/.hidden" starts
		// with it. Recorded so a change is deliberate.
		{"a/.", false},
	} {
		err := objects.ValidatePrefix(tc.prefix)
		switch {
		case tc.ok && err != nil:
			t.Errorf("ValidatePrefix(%.40q) = %v, want nil", tc.prefix, err)
		case !tc.ok && !errors.Is(err, objects.ErrInvalidKey):
			t.Errorf("ValidatePrefix(%.40q) = %v, want ErrInvalidKey", tc.prefix, err)
		}
	}
}

// Every valid key is a valid prefix, with or without a trailing '/'.
func TestValidKeysAreValidPrefixes(t *testing.T) {
	for _, tc := range keyCases {
		if !tc.ok {
			continue
		}
		if err := objects.ValidatePrefix(tc.key); err != nil {
			t.Errorf("ValidatePrefix(%.40q) = %v", tc.key, err)
		}
		if err := objects.ValidatePrefix(tc.key + "/"); err != nil {
			t.Errorf("ValidatePrefix(%.40q) = %v", tc.key+"/", err)
		}
	}
}

// A key written from now on may not name a .git or .folio folder, in any
// spelling a filesystem folds to one: any case, Windows' dropped trailing
// dots and spaces, HFS+'s ignored code points, NTFS short names. Such keys
// stay readable (ValidateKey), so repositories that hold them still open.
func TestValidateNewKeyRefusesReservedSegments(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{".git/config", false},
		{".git", false},
		{"a/.git", false},
		{"site/.git/hooks/pre-commit", false},
		{".GIT/config", false},
		{".Git/config", false},
		{".folio/db/MANIFEST", false},
		{"x/.FOLIO/HEAD", false},
		{".git./config", false},      // Windows drops trailing dots
		{".git /config", false},      // and trailing spaces
		{".g\u200cit/config", false}, // HFS+ ignores U+200C
		{"\ufeff.folio/HEAD", false}, // and U+FEFF
		{"GIT~1/config", false},      // NTFS short name of .git
		{"folio~1/HEAD", false},      // and of .folio
		{".gitignore", true},         // only whole segments
		{".github/workflows/ci.yml", true},
		{"git/config", true},
		{"a.git/config", true},
		{".folios/x", true},
		{"my.folio", true},
		{"git~2/x", true},
	} {
		if err := objects.ValidateKey(tc.key); err != nil {
			t.Errorf("ValidateKey(%q) = %v: reserved keys must stay readable", tc.key, err)
		}
		err := objects.ValidateNewKey(tc.key)
		switch {
		case tc.ok && err != nil:
			t.Errorf("ValidateNewKey(%q) = %v, want nil", tc.key, err)
		case !tc.ok && !errors.Is(err, objects.ErrInvalidKey):
			t.Errorf("ValidateNewKey(%q) = %v, want ErrInvalidKey", tc.key, err)
		case !tc.ok && !strings.Contains(err.Error(), strconv.Quote(tc.key)):
			t.Errorf("ValidateNewKey(%q) = %v: the error must name the key", tc.key, err)
		}
	}
	for _, tc := range keyCases { // everything ValidateKey refuses, ValidateNewKey refuses
		if err := objects.ValidateNewKey(tc.key); tc.ok != (err == nil) {
			t.Errorf("ValidateNewKey(%.40q) = %v, want ok=%v", tc.key, err, tc.ok)
		}
	}
}
