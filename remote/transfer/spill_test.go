package transfer

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/folio-db/folio/objects"
)

// testID is the i-th of a family of distinct IDs (hashed, as IDs are: the
// filter reads their words as hashes).
func testID(family byte, i int) objects.ID {
	var b [9]byte
	b[0] = family
	binary.LittleEndian.PutUint64(b[1:], uint64(i))
	return objects.Hash(b[:])
}

// An idSet's Bloom filter grows with the IDs it spills, so at most 2% of
// the look-ups of IDs not in the set read its runs on disk: at 2,000,000
// IDs (a fixed 1 MiB filter, 4 bits per ID, let through 13.5%), and where
// the filter is fullest, 10 bits per ID (105,000 IDs spilled 1,024 at a
// time fill 2^20 bits). The filter stays within bloomMaxBytes.
func TestIDSetFilterKeepsMissesOffDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("spills 2,000,000 IDs")
	}
	t.Parallel()
	const misses = 100_000
	for _, tc := range []struct{ memIDs, ids int }{
		{memIDs, 2_000_000},
		{1024, 102 * 1024},
	} {
		t.Run(fmt.Sprintf("%d IDs", tc.ids), func(t *testing.T) {
			t.Parallel()
			sp := &spill{memIDs: tc.memIDs}
			defer sp.close()
			s := newIDSet(sp)
			for i := range tc.ids {
				if err := s.add(testID(1, i)); err != nil {
					t.Fatal(err)
				}
			}
			s.sp.runLookups = 0
			for i := range misses {
				if ok, err := s.has(testID(2, i)); ok || err != nil {
					t.Fatalf("never added %d, has says %v, %v", i, ok, err)
				}
			}
			rate := float64(s.sp.runLookups) / misses
			t.Logf("%d IDs, %d runs, a filter of %d bytes (%.1f bits per ID spilled): %d of %d misses read the runs (%.2f%%)",
				tc.ids, len(s.runs), len(s.bloom)*8, float64(len(s.bloom)*64)/float64(s.spilled), s.sp.runLookups, misses, 100*rate)
			if rate > 0.02 {
				t.Errorf("%.1f%% of the look-ups of IDs not in a set of %d read its runs, want at most 2%%", 100*rate, tc.ids)
			}
			if len(s.bloom)*8 > bloomMaxBytes {
				t.Errorf("the filter takes %d bytes, want at most %d", len(s.bloom)*8, bloomMaxBytes)
			}
			for _, i := range []int{0, 1, tc.ids / 2, tc.ids - 1} {
				if ok, err := s.has(testID(1, i)); !ok || err != nil {
					t.Fatalf("added %d, has says %v, %v", i, ok, err)
				}
			}
		})
	}
}

// A sealed set that had spilled keeps nothing but its filter and block
// index in memory (a map that once held memIDs IDs keeps their room), and
// still answers exactly; one that never spilled stays as it is.
func TestIDSetSealMovesMemoryToRuns(t *testing.T) {
	t.Parallel()
	sp := &spill{memIDs: 50}
	defer sp.close()
	for _, n := range []int{30, 170} {
		s := newIDSet(sp)
		for i := range n {
			if err := s.add(testID(3, i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.seal(); err != nil {
			t.Fatal(err)
		}
		if spilled := n >= sp.memIDs; spilled && len(s.mem) != 0 {
			t.Errorf("%d IDs: %d left in memory after seal, want 0", n, len(s.mem))
		} else if !spilled && len(s.mem) != n {
			t.Errorf("%d IDs, none spilled: %d in memory after seal, want all", n, len(s.mem))
		}
		for i := range n {
			if ok, err := s.has(testID(3, i)); !ok || err != nil {
				t.Fatalf("%d IDs: added %d, has says %v, %v", n, i, ok, err)
			}
		}
		for i := range 500 {
			if ok, err := s.has(testID(4, i)); ok || err != nil {
				t.Fatalf("%d IDs: never added %d, has says %v, %v", n, i, ok, err)
			}
		}
	}
}
