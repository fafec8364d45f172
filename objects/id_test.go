package objects_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

const someIDHex = "0123456789abcdef00112233445566778899aabbccddeeff0f1e2d3c4b5a6978"

func TestParseIDRoundTrip(t *testing.T) {
	id, err := objects.ParseID(someIDHex)
	if err != nil {
		t.Fatal(err)
	}
	if id[0] != 0x01 || id[1] != 0x23 || id[31] != 0x78 {
		t.Errorf("bytes %x, want the hex digits in order", id[:])
	}
	if got := id.String(); got != someIDHex {
		t.Errorf("String() = %s, want %s", got, someIDHex)
	}
	if got := id.Short(); got != someIDHex[:objects.ShortIDLen] || len(got) != 12 {
		t.Errorf("Short() = %s, want %s", got, someIDHex[:12])
	}
}

// ParseID accepts upper-case and mixed-case hex (as encoding/hex does) and
// String always gives lower case, so the text form is normalised by a
// parse/format round trip.
func TestParseIDAcceptsUpperCase(t *testing.T) {
	for _, s := range []string{strings.ToUpper(someIDHex), someIDHex[:32] + strings.ToUpper(someIDHex[32:])} {
		id, err := objects.ParseID(s)
		if err != nil {
			t.Fatalf("ParseID(%s): %v", s, err)
		}
		if id.String() != someIDHex {
			t.Errorf("ParseID(%s).String() = %s, want the lower-case form", s, id)
		}
	}
}

func TestParseIDRejects(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"63 digits", someIDHex[:63]},
		{"65 digits", someIDHex + "0"},
		{"short form", someIDHex[:objects.ShortIDLen]},
		{"raw 32 bytes", strings.Repeat("a", 32)},
		{"non-hex letter", "g" + someIDHex[1:]},
		{"non-hex at the end", someIDHex[:63] + "z"},
		{"leading space", " " + someIDHex[1:]},
		{"trailing newline", someIDHex[:63] + "\n"},
		{"0x prefix", "0x" + someIDHex[2:]},
		{"multi-byte rune", "é" + someIDHex[2:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := objects.ParseID(tc.in)
			if !errors.Is(err, objects.ErrInvalidID) {
				t.Errorf("ParseID(%q) error = %v, want ErrInvalidID", tc.in, err)
			}
			if !id.IsZero() {
				t.Errorf("ParseID(%q) returned %s with its error, want the zero ID", tc.in, id)
			}
		})
	}
}

func TestMustParseID(t *testing.T) {
	if got := objects.MustParseID(someIDHex).String(); got != someIDHex {
		t.Errorf("MustParseID = %s", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustParseID of bad input did not panic")
		}
	}()
	objects.MustParseID("nope")
}

func TestIDIsZero(t *testing.T) {
	if !(objects.ID{}).IsZero() {
		t.Error("zero ID is not IsZero")
	}
	if got := (objects.ID{}).String(); got != strings.Repeat("0", 64) {
		t.Errorf("zero ID String() = %s", got)
	}
	var last objects.ID
	last[31] = 1
	if last.IsZero() {
		t.Error("ID with only its last byte set is IsZero")
	}
	if objects.Hash(nil).IsZero() {
		t.Error("Hash(nil) is the zero ID")
	}
}

// The hash is BLAKE3-256: these are the published test vectors for the
// empty input and for "abc".
func TestHashIsBLAKE3(t *testing.T) {
	for in, want := range map[string]string{
		"":    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
		"abc": "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
	} {
		if got := objects.Hash([]byte(in)).String(); got != want {
			t.Errorf("Hash(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestIDJSON(t *testing.T) {
	id := objects.MustParseID(someIDHex)
	type doc struct {
		ID    objects.ID            `json:"id"`
		Zero  objects.ID            `json:"zero"`
		ByID  map[objects.ID]string `json:"by_id"`
		List  []objects.ID          `json:"list"`
		IDPtr *objects.ID           `json:"ptr"`
	}
	in := doc{ID: id, ByID: map[objects.ID]string{id: "x"}, List: []objects.ID{id, {}}, IDPtr: &id}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	zero := strings.Repeat("0", 64)
	want := `{"id":"` + someIDHex + `","zero":"` + zero + `","by_id":{"` + someIDHex + `":"x"},"list":["` +
		someIDHex + `","` + zero + `"],"ptr":"` + someIDHex + `"}`
	if string(b) != want {
		t.Errorf("json.Marshal = %s\nwant %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != id || !out.Zero.IsZero() || out.ByID[id] != "x" || !slices.Equal(out.List, in.List) || *out.IDPtr != id {
		t.Errorf("json round trip gave %+v", out)
	}
}

func TestIDUnmarshalRejects(t *testing.T) {
	for _, in := range []string{`"abc"`, `""`, `"` + someIDHex + `0"`, `"` + strings.Repeat("x", 64) + `"`} {
		var id objects.ID
		err := json.Unmarshal([]byte(in), &id)
		if !errors.Is(err, objects.ErrInvalidID) {
			t.Errorf("json.Unmarshal(%s) error = %v, want ErrInvalidID", in, err)
		}
	}
	// A failed UnmarshalText leaves the ID unchanged.
	id := objects.MustParseID(someIDHex)
	if err := id.UnmarshalText([]byte("bad")); err == nil || id.String() != someIDHex {
		t.Errorf("UnmarshalText(bad) = %v, ID now %s", err, id)
	}
	// Numbers and other JSON types are not IDs.
	var id2 objects.ID
	if err := json.Unmarshal([]byte(`123`), &id2); err == nil {
		t.Error("json.Unmarshal(123) into an ID succeeded")
	}
}

func TestIDCompare(t *testing.T) {
	a := objects.MustParseID("00" + strings.Repeat("ff", 31))
	b := objects.MustParseID("01" + strings.Repeat("00", 31))
	c := objects.MustParseID("01" + strings.Repeat("00", 30) + "01")
	for _, tc := range []struct {
		x, y objects.ID
		want int
	}{
		{a, a, 0}, {a, b, -1}, {b, a, 1}, {b, c, -1}, {c, b, 1},
		{objects.ID{}, a, -1}, {objects.ID{}, objects.ID{}, 0},
	} {
		if got := tc.x.Compare(tc.y); got != tc.want {
			t.Errorf("%s.Compare(%s) = %d, want %d", tc.x.Short(), tc.y.Short(), got, tc.want)
		}
		if got := bytes.Compare(tc.x[:], tc.y[:]); got != tc.want {
			t.Errorf("bytes.Compare disagrees with the table for %s, %s", tc.x.Short(), tc.y.Short())
		}
	}
	ids := []objects.ID{c, a, b, {}}
	slices.SortFunc(ids, objects.ID.Compare)
	if !slices.Equal(ids, []objects.ID{{}, a, b, c}) {
		t.Errorf("sorted by Compare: %v", ids)
	}
}

func TestIDIsMapKey(t *testing.T) {
	seen := map[objects.ID]int{}
	for i := range 100 {
		seen[objects.Hash([]byte{byte(i)})]++
	}
	// Equal content gives an equal key, whichever slice the hash came from.
	seen[objects.Hash([]byte{7})]++
	seen[objects.MustParseID(objects.Hash([]byte{7}).String())]++
	if len(seen) != 100 || seen[objects.Hash([]byte{7})] != 3 {
		t.Errorf("map has %d keys, count for {7} is %d", len(seen), seen[objects.Hash([]byte{7})])
	}
}
