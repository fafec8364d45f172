package jsonmerge

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"
)

func rootDigest(t *testing.T, s string) digest {
	t.Helper()
	d, err := parse([]byte(s))
	if err != nil {
		t.Fatalf("parse(%q): %v", s, err)
	}
	return d.digests[0]
}

// TestDigestEquality pins which spellings are the same value.
func TestDigestEquality(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		equal bool
	}{
		// numbers: exact decimal value
		{`1`, `1.0`, true},
		{`1`, `1e0`, true},
		{`1`, `10e-1`, true},
		{`1`, `0.1e1`, true},
		{`100`, `1e2`, true},
		{`100`, `1E+2`, true},
		{`1.5`, `15e-1`, true},
		{`0`, `-0`, true},
		{`0`, `0.000e99`, true},
		{`-1`, `1`, false},
		{`1`, `1.0000000000000000000001`, false},
		{`1e400`, `10e399`, true},
		{`1e400`, `1e401`, false},
		{`12345678901234567890`, `12345678901234567891`, false}, // equal as float64
		{`1e99999999999999999999`, `10e99999999999999999998`, true},
		{`1e99999999999999999999`, `1e99999999999999999998`, false},
		{`1e-99999999999999999999`, `0.1e-99999999999999999998`, true},
		// strings: decoded value
		{`"A"`, `"\u0041"`, true},
		{`"/"`, `"\/"`, true},
		{`"é"`, `"\u00e9"`, true},
		{`"é"`, `"\u00E9"`, true},
		{`"😀"`, `"\ud83d\ude00"`, true},
		{`"\ud800"`, `"\ufffd"`, false},
		{`"\ud800"`, `"\udc00"`, false},
		{`"\ud800A"`, `"\ud800\u0041"`, true},
		{`"\ud800A"`, `"A"`, false},
		{`"a"`, `"a "`, false},
		{`"1"`, `1`, false},
		// literals and types
		{`null`, `false`, false},
		{`[]`, `{}`, false},
		{`""`, `null`, false},
		// composites
		{`{"a":1,"b":2}`, `{ "b" : 2.0 , "a" : 1 }`, true},
		{`{"a":1}`, `{"a":1,"b":2}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`[1,2]`, `[ 1 , 2 ]`, true},
		{`[[]]`, `[[],[]]`, false},
		{`{"a":{"b":[1]}}`, `{"a":{"b":[1.0]}}`, true},
		{`{"ab":1}`, `{"a":1}`, false},
	} {
		if got := rootDigest(t, tc.a) == rootDigest(t, tc.b); got != tc.equal {
			t.Errorf("%s == %s: %v, want %v", tc.a, tc.b, got, tc.equal)
		}
	}
}

// TestNumbersCompareExactly checks digest equality of random number
// spellings against math/big's exact rationals.
func TestNumbersCompareExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	number := func() string {
		mant := []string{"0", "1", "10", "100", "12", "120", "0.12", "1.2", "1.20", "0.0012", "5"}[r.IntN(11)]
		s := mant
		if r.IntN(2) == 0 {
			s = "-" + s
		}
		if r.IntN(2) == 0 {
			s += fmt.Sprintf("e%+d", r.IntN(7)-3)
		}
		return s
	}
	for range 5000 {
		a, b := number(), number()
		ra, _ := new(big.Rat).SetString(a)
		rb, _ := new(big.Rat).SetString(b)
		if got, want := rootDigest(t, a) == rootDigest(t, b), ra.Cmp(rb) == 0; got != want {
			t.Fatalf("%s == %s: %v, math/big says %v", a, b, got, want)
		}
	}
}

func TestDisplayString(t *testing.T) {
	for lit, want := range map[string]string{
		`"plain"`:          "plain",
		`"a\/b"`:           "a/b",
		`"\ud800x"`:        "\ufffdx",
		`"\ud83d\ude00"`:   "😀",
		`"\udc00\ud800"`:   "\ufffd\ufffd",
		`"tab\tand\u0000"`: "tab\tand\x00",
	} {
		if got := displayString(canonicalString(lit)); got != want {
			t.Errorf("%s: %q, want %q", lit, got, want)
		}
	}
}
