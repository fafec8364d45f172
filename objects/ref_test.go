package objects_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

func TestValidateRefName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"refs/heads/main", true},
		{"refs/heads/feature/x", true},
		{"refs/tags/v1.0.0", true},
		{"refs/remotes/origin/main", true},
		{objects.WorkingSetPrefix + "refs/heads/main", true},
		{"refs/heads/文档", true},
		{"refs/heads/a.b", true},
		{"refs/heads/a-b_c+d@e", true},
		{"refs/heads/@", true},
		{"refs/heads/" + strings.Repeat("x", objects.MaxRefLen-len("refs/heads/")), true},
		// The name need not start with "refs/": the rules are syntactic.
		{"main", true},
		{"HEAD", true},

		{"", false},
		{"refs/heads/" + strings.Repeat("x", objects.MaxRefLen-len("refs/heads/")+1), false},
		{"refs/heads/a..b", false},
		{"refs/heads/..", false},
		{"refs/heads/a@{1}", false},
		{"refs/heads/a b", false},
		{"refs/heads/a\tb", false},
		{"refs/heads/a\x00", false},
		{"refs/heads/a\x1f", false},
		{"refs/heads/a\x7f", false},
		{"refs/heads/a\u0085", false},  // C1 control, also Unicode space
		{"refs/heads/a\u0090", false},  // C1 control
		{"refs/heads/a\u00a0b", false}, // no-break space
		{"refs/heads/a\u3000b", false}, // ideographic space
		{"refs/heads/a~1", false},
		{"refs/heads/a^", false},
		{"refs/heads/a:b", false},
		{"refs/heads/a?", false},
		{"refs/heads/a*", false},
		{"refs/heads/a[b", false},
		{"refs/heads/a\\b", false},
		{"refs//heads", false},
		{"/refs/heads/x", false},
		{"refs/heads/x/", false},
		{"refs/heads/.hidden", false},
		{"refs/heads/x/.y", false},
		{"refs/heads/x.lock", false},
		{"refs/heads/x.lock/y", false},
		{"refs/heads/x.", false},
		{"/", false},
		{".", false},
	} {
		err := objects.ValidateRefName(tc.name)
		switch {
		case tc.ok && err != nil:
			t.Errorf("ValidateRefName(%.40q) = %v, want nil", tc.name, err)
		case !tc.ok && !errors.Is(err, objects.ErrInvalidRef):
			t.Errorf("ValidateRefName(%.40q) = %v, want ErrInvalidRef", tc.name, err)
		}
	}
}

// Ref names travel in JSON (refs listings, errors): a name that is not
// valid UTF-8 would come back as a different name (encoding/json replaces
// bad bytes with U+FFFD), so a compare-and-swap on it could never match.
func TestValidateRefNameRejectsInvalidUTF8(t *testing.T) {
	for _, name := range []string{"refs/heads/\xff", "refs/heads/a\xc3", "refs/tags/\xed\xa0\x80"} {
		if err := objects.ValidateRefName(name); !errors.Is(err, objects.ErrInvalidRef) {
			t.Errorf("ValidateRefName(%q) = %v, want ErrInvalidRef", name, err)
		}
	}
}

func TestValidateBranchName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"main", true},
		{"feature/x", true},
		{"head", true},
		{"HEADS", true},
		{"a-", true},
		{"", false},
		{"HEAD", false},
		{"@", false},
		{"-x", false},
		{"--force", false},
		{"a..b", false},
		{"a/", false},
		{"/a", false},
		{"x.lock", false},
		{"a b", false},
		{".x", false},
		{strings.Repeat("x", objects.MaxRefLen), false}, // too long with its prefix
	} {
		err := objects.ValidateBranchName(tc.name)
		switch {
		case tc.ok && err != nil:
			t.Errorf("ValidateBranchName(%.40q) = %v, want nil", tc.name, err)
		case !tc.ok && !errors.Is(err, objects.ErrInvalidRef):
			t.Errorf("ValidateBranchName(%.40q) = %v, want ErrInvalidRef", tc.name, err)
		}
	}
}

func TestCheckRefUpdates(t *testing.T) {
	a, b := fakeID(0xaa), fakeID(0xbb)
	for _, tc := range []struct {
		name    string
		updates []objects.RefUpdate
		ok      bool
	}{
		{"empty batch", nil, true},
		{"one create", []objects.RefUpdate{{Name: "refs/heads/main", New: a}}, true},
		{"create, move and delete", []objects.RefUpdate{
			{Name: "refs/heads/main", New: a},
			{Name: "refs/heads/dev", Old: a, New: b},
			{Name: "refs/tags/v1", Old: b},
		}, true},
		{"names differing only in case", []objects.RefUpdate{
			{Name: "refs/heads/main", New: a}, {Name: "refs/heads/Main", New: a},
		}, true},
		{"an unchanged ref is allowed", []objects.RefUpdate{{Name: "refs/heads/main", Old: a, New: a}}, true},
		{"invalid name", []objects.RefUpdate{{Name: "refs/heads/a b", New: a}}, false},
		{"invalid name after valid ones", []objects.RefUpdate{
			{Name: "refs/heads/main", New: a}, {Name: "refs/heads/x.lock", New: a},
		}, false},
		{"empty name", []objects.RefUpdate{{New: a}}, false},
		{"same ref twice", []objects.RefUpdate{
			{Name: "refs/heads/main", New: a}, {Name: "refs/heads/main", Old: a, New: b},
		}, false},
		{"same ref twice, not adjacent", []objects.RefUpdate{
			{Name: "refs/heads/main", New: a}, {Name: "refs/heads/dev", New: a}, {Name: "refs/heads/main", New: a},
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := objects.CheckRefUpdates(tc.updates)
			switch {
			case tc.ok && err != nil:
				t.Errorf("CheckRefUpdates = %v, want nil", err)
			case !tc.ok && !errors.Is(err, objects.ErrInvalidRef):
				t.Errorf("CheckRefUpdates = %v, want ErrInvalidRef", err)
			}
		})
	}
}

func TestRefChangedError(t *testing.T) {
	a, b := fakeID(0xaa), fakeID(0xbb)
	for _, tc := range []struct {
		update  objects.RefUpdate
		current objects.ID
		want    string
	}{
		{objects.RefUpdate{Name: "refs/heads/main", Old: a, New: b}, b, "objects: ref changed: refs/heads/main is bbbbbbbbbbbb, expected aaaaaaaaaaaa"},
		{objects.RefUpdate{Name: "refs/heads/main", New: b}, a, "objects: ref changed: refs/heads/main is aaaaaaaaaaaa, expected absent"},
		{objects.RefUpdate{Name: "refs/heads/main", Old: a}, objects.ID{}, "objects: ref changed: refs/heads/main is absent, expected aaaaaaaaaaaa"},
	} {
		err := objects.RefChangedError(tc.update, tc.current)
		if !errors.Is(err, objects.ErrRefChanged) || err.Error() != tc.want {
			t.Errorf("RefChangedError = %v, want %q wrapping ErrRefChanged", err, tc.want)
		}
	}
}

// Every branch has a working set, kept under WorkingSetPrefix + its full
// ref name, so every valid branch name must give a valid working-set ref
// TestShortNamesReadAsSomethingElse: a tag or remote named HEAD or @
// (the current commit in a revision) or starting with '-' (a flag on the
// command line) is refused, as a branch so named is.
func TestShortNamesReadAsSomethingElse(t *testing.T) {
	for _, name := range []string{"HEAD", "@", "-x", "--force"} {
		if err := objects.ValidateTagName(name); !errors.Is(err, objects.ErrInvalidRef) {
			t.Errorf("ValidateTagName(%q) = %v, want ErrInvalidRef", name, err)
		}
	}
	for _, name := range []string{"v1", "release/1.0", "@x", "HEADS"} {
		if err := objects.ValidateTagName(name); err != nil {
			t.Errorf("ValidateTagName(%q) = %v, want nil", name, err)
		}
	}
}

// name too. The longest branch names ValidateBranchName accepts give names
// longer than MaxRefLen.
func TestEveryBranchHasAValidWorkingSetRef(t *testing.T) {
	for _, n := range []int{1, 100, objects.MaxRefLen - len(objects.WorkingSetPrefix+objects.BranchPrefix), objects.MaxRefLen - len(objects.BranchPrefix)} {
		branch := strings.Repeat("b", n)
		if objects.ValidateBranchName(branch) != nil {
			continue
		}
		ws := objects.WorkingSetPrefix + objects.BranchPrefix + branch
		if err := objects.ValidateRefName(ws); err != nil {
			t.Errorf("a %d-byte branch name is valid, but its %d-byte working-set ref name is not", n, len(ws))
		}
	}
}
