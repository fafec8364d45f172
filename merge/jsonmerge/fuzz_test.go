package jsonmerge

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/folio-db/folio/objects"
)

// addCaseSeeds adds the inputs of the data-driven cases as seeds.
func addCaseSeeds(f *testing.F, add func(base, ours, theirs []byte)) {
	files, _ := filepath.Glob(filepath.Join(casesDir, "*.txtar"))
	for _, file := range files {
		a, err := readArchive(file)
		if err != nil {
			f.Fatal(err)
		}
		s := map[string][]byte{}
		for _, x := range a.files {
			s[x.name] = x.data
		}
		add(s["base.json"], s["ours.json"], s["theirs.json"])
	}
}

// FuzzMerge checks that Merge never panics, that its output is valid JSON
// whenever it succeeds, that the identities hold byte for byte, and that
// swapping the sides and the winner gives the same value.
func FuzzMerge(f *testing.F) {
	addCaseSeeds(f, func(b, o, th []byte) { f.Add(b, o, th, false) })
	f.Add([]byte(`[1,2,3]`), []byte(`[0,1,2,3]`), []byte(`[1,2,3,4]`), true)
	f.Add([]byte(`{"a":{"b":[{"c":1}]}}`), []byte(`{"a":{"b":[{"c":2}]}}`), []byte(`{"a":{"b":[{"c":1,"d":1}]}}`), true)
	f.Add([]byte(nil), []byte(`{"a":1}`), []byte(`{"b":2}`), false)
	f.Fuzz(func(t *testing.T, b, o, th []byte, theirsWins bool) {
		w := objects.SideOurs
		if theirsWins {
			w = objects.SideTheirs
		}
		res, err := Merge(b, o, th, w)
		if err != nil {
			if !errors.Is(err, ErrNotJSON) && !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !validJSON(res.Merged) {
			t.Fatalf("merged is not valid JSON: %q", res.Merged)
		}
		switch {
		case bytes.Equal(o, th) && !bytes.Equal(res.Merged, o):
			t.Fatalf("ours == theirs, merged %q", res.Merged)
		case len(b) > 0 && bytes.Equal(th, b) && !bytes.Equal(res.Merged, o):
			t.Fatalf("theirs == base, merged %q", res.Merged)
		case len(b) > 0 && bytes.Equal(o, b) && !bytes.Equal(res.Merged, th):
			t.Fatalf("ours == base, merged %q", res.Merged)
		}
		if (bytes.Equal(o, th) || bytes.Equal(th, b) || bytes.Equal(o, b)) && len(res.Conflicts) > 0 {
			t.Fatalf("an identity merge conflicts: %v", res.Conflicts)
		}
		for _, c := range res.Conflicts {
			for _, v := range []json.RawMessage{c.Base, c.Ours, c.Theirs} {
				if v != nil && !json.Valid(v) {
					t.Fatalf("conflict %q holds invalid JSON %q", c.Path, v)
				}
			}
		}
		swapped, err := Merge(b, th, o, other(w))
		if err != nil {
			t.Fatalf("swapped: %v", err)
		}
		if !slices.Equal(res.Unions, swapped.Unions) {
			t.Fatalf("swapping sides changes the unions: %q and %q", res.Unions, swapped.Unions)
		}
		if len(res.Unions) > 0 || !tameNumbers(res.Merged) || !tameNumbers(swapped.Merged) {
			return
		}
		if same, err := sameValue(res.Merged, swapped.Merged); err != nil || !same {
			t.Fatalf("swapping sides and winner changes the value (%v):\n%s\nswapped:\n%s", err, res.Merged, swapped.Merged)
		}
	})
}

// FuzzMergeVersions: the versions are the merge with ours' and theirs'
// values at the conflicts, the same as Merge with that side winning; all
// three are the merge itself when nothing conflicts; and where base has
// the document, base's version is valid JSON too.
func FuzzMergeVersions(f *testing.F) {
	addCaseSeeds(f, func(b, o, th []byte) { f.Add(b, o, th) })
	f.Add([]byte(`{"a":1,"z":1}`), []byte(`{"a":1,"k":1,"z":1}`), []byte(`{"a":1,"z":1,"k":2}`))
	f.Fuzz(func(t *testing.T, b, o, th []byte) {
		res, v, err := MergeVersions(b, o, th)
		if err != nil {
			return
		}
		for _, c := range []struct {
			w    objects.Side
			got  []byte
			name string
		}{{objects.SideOurs, v.Ours, "ours"}, {objects.SideTheirs, v.Theirs, "theirs"}} {
			want, err := Merge(b, o, th, c.w)
			if err != nil || !bytes.Equal(c.got, want.Merged) {
				t.Fatalf("%s version %q, Merge gives %q (%v)", c.name, c.got, want.Merged, err)
			}
		}
		if len(res.Conflicts) == 0 && (!bytes.Equal(v.Base, res.Merged) || !bytes.Equal(v.Theirs, res.Merged)) {
			t.Fatalf("clean merge %q has versions %q %q %q", res.Merged, v.Base, v.Ours, v.Theirs)
		}
		if len(b) > 0 && !validJSON(v.Base) {
			t.Fatalf("base's version is not JSON: %q", v.Base)
		}
		if len(res.Conflicts) > 0 && bytes.Equal(v.Ours, v.Theirs) {
			t.Fatalf("conflicts %v, yet ours' and theirs' versions are the same", res.Conflicts)
		}
	})
}

// FuzzDiff checks that Diff never panics and that its changes, applied as
// a JSON Patch, turn a into b.
func FuzzDiff(f *testing.F) {
	addCaseSeeds(f, func(b, o, th []byte) {
		f.Add(b, o)
		f.Add(o, th)
	})
	f.Add([]byte(`[1,2,3,4]`), []byte(`[0,1,3,4,5]`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if _, err := Diff(a, b); err != nil {
			if !errors.Is(err, ErrNotJSON) && !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(a) == 0 || len(b) == 0 || !tameNumbers(a) || !tameNumbers(b) {
			return
		}
		checkPatch(t, "fuzz", a, b)
	})
}

// FuzzParse checks the parser against encoding/json: it accepts exactly
// the valid JSON in UTF-8 without duplicate keys.
func FuzzParse(f *testing.F) {
	addCaseSeeds(f, func(b, o, th []byte) { f.Add(o) })
	f.Add([]byte(`{"a":1,"\u0061":2}`))
	f.Add([]byte(`[1e400, -0.0, "\ud800"]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parse(data)
		valid := validJSON(data) && utf8.Valid(data)
		switch {
		case err == nil && !valid:
			t.Fatalf("parse accepts %q", data)
		case err != nil && valid && !errors.Is(err, ErrTooDeep):
			if !strings.Contains(err.Error(), "duplicate key") {
				t.Fatalf("parse rejects valid %q: %v", data, err)
			}
			if !hasDuplicateKey(data) {
				t.Fatalf("parse finds a duplicate key encoding/json does not: %q", data)
			}
		case err == nil && hasDuplicateKey(data):
			// encoding/json decodes lone surrogates to U+FFFD, so it can
			// see duplicates where there are none; check with the canonical
			// decoding, which keeps them apart.
			if !strings.Contains(string(data), `\u`) {
				t.Fatalf("parse misses a duplicate key in %q", data)
			}
		}
	})
}

// hasDuplicateKey reports whether an object in valid JSON repeats a key,
// as encoding/json decodes keys.
func hasDuplicateKey(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(stripBOM(data)))
	var walk func() (bool, error)
	walk = func() (bool, error) {
		tok, err := dec.Token()
		if err != nil {
			return false, err
		}
		open, ok := tok.(json.Delim)
		if !ok {
			return false, nil
		}
		seen := map[string]bool{}
		for dec.More() {
			if open == '{' {
				k, err := dec.Token()
				if err != nil {
					return false, err
				}
				if seen[k.(string)] {
					return true, nil
				}
				seen[k.(string)] = true
			}
			if dup, err := walk(); dup || err != nil {
				return dup, err
			}
		}
		_, err = dec.Token()
		return false, err
	}
	dup, _ := walk()
	return dup
}
