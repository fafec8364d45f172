package objects_test

import (
	"slices"
	"testing"

	"github.com/folio-db/folio/objects"
)

func recentOf(budget int64) *objects.Recent[string] {
	return objects.NewRecent(budget, func(v string) int64 { return int64(len(v)) })
}

func TestRecentKeepsWithinItsBudget(t *testing.T) {
	r := recentOf(8) // two generations of 4
	ids := make([]objects.ID, 5)
	for i := range ids {
		ids[i] = objects.Hash([]byte{byte(i)})
		r.Add(r.Epoch(), ids[i], "xx")
	}
	// 0,1 filled a generation, 2,3 the next (0,1 previous), 4 a third.
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok := r.Get(ids[i]); ok != want {
			t.Errorf("value %d kept: %v, want %v", i, ok, want)
		}
	}
	r.Add(r.Epoch(), objects.Hash([]byte("big")), "nine bytes")
	if _, ok := r.Get(objects.Hash([]byte("big"))); ok {
		t.Error("kept a value larger than a generation")
	}
}

func TestRecentMovesWhatIsReadIntoTheCurrentGeneration(t *testing.T) {
	r := recentOf(8)
	a, b, c, d := objects.Hash([]byte("a")), objects.Hash([]byte("b")), objects.Hash([]byte("c")), objects.Hash([]byte("d"))
	r.Add(0, a, "aa")
	r.Add(0, b, "bb")
	r.Add(0, c, "cc") // a, b previous
	if v, ok := r.Get(a); !ok || v != "aa" {
		t.Fatalf("Get(a) = %q, %v", v, ok)
	}
	r.Add(0, d, "dd") // c, a previous; b dropped
	for id, want := range map[objects.ID]bool{a: true, b: false, c: true, d: true} {
		if _, ok := r.Get(id); ok != want {
			t.Errorf("%s kept: %v, want %v", id.Short(), ok, want)
		}
	}
}

func TestRecentReplacesWhatItKept(t *testing.T) {
	r := recentOf(8)
	a, b := objects.Hash([]byte("a")), objects.Hash([]byte("b"))
	r.Add(0, a, "a1")
	r.Add(0, b, "b1")
	r.Add(0, a, "a2") // replaced in the current generation
	r.Add(0, b, "b2")
	for id, want := range map[objects.ID]string{a: "a2", b: "b2"} {
		if v, _ := r.Get(id); v != want {
			t.Errorf("Get(%s) = %q, want %q", id.Short(), v, want)
		}
	}
	r.Add(0, objects.Hash([]byte("c")), "cc") // a, b previous
	r.Add(0, a, "a3")
	if v, _ := r.Get(a); v != "a3" {
		t.Errorf("Get(a) = %q after replacing it in the previous generation, want a3", v)
	}
}

// Forget drops everything, and a value read before it is not added after.
func TestRecentForgets(t *testing.T) {
	r := recentOf(1 << 10)
	a, b := objects.Hash([]byte("a")), objects.Hash([]byte("b"))
	r.Add(r.Epoch(), a, "a")
	before := r.Epoch() // b is read ...
	r.Forget()          // ... while a collection deletes it
	r.Add(before, b, "b")
	for _, id := range []objects.ID{a, b} {
		if _, ok := r.Get(id); ok {
			t.Errorf("%s kept after Forget", id.Short())
		}
	}
	r.Add(r.Epoch(), b, "b")
	if _, ok := r.Get(b); !ok {
		t.Error("nothing kept after Forget")
	}
}

func TestNilRecentKeepsNothing(t *testing.T) {
	r := recentOf(0)
	if r != nil {
		t.Fatal("NewRecent(0) is not nil")
	}
	id := objects.Hash([]byte("a"))
	r.Add(r.Epoch(), id, "a")
	r.Forget()
	if _, ok := r.Get(id); ok {
		t.Error("a nil Recent kept a value")
	}
}

// Values are those of both generations, and none after Forget.
func TestRecentValues(t *testing.T) {
	r := recentOf(8)
	for _, v := range []string{"aa", "bb", "cc"} { // aa, bb previous
		r.Add(r.Epoch(), objects.Hash([]byte(v)), v)
	}
	got := r.Values()
	slices.Sort(got)
	if !slices.Equal(got, []string{"aa", "bb", "cc"}) {
		t.Errorf("Values() = %q", got)
	}
	r.Forget()
	if got := r.Values(); len(got) != 0 {
		t.Errorf("Values() after Forget = %q", got)
	}
	var none *objects.Recent[string]
	if got := none.Values(); got != nil {
		t.Errorf("nil Recent: %q", got)
	}
}
