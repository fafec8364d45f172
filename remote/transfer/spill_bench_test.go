package transfer

import "testing"

// BenchmarkIDSetMisses looks up IDs not in a set of 2,000,000 spilled
// IDs: the filter in front of the runs decides how many read the disk.
func BenchmarkIDSetMisses(b *testing.B) {
	sp := &spill{memIDs: memIDs}
	defer sp.close()
	s := newIDSet(sp)
	for i := range 2_000_000 {
		if err := s.add(testID(1, i)); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		if ok, err := s.has(testID(2, i)); ok || err != nil {
			b.Fatalf("never added %d, has says %v, %v", i, ok, err)
		}
		i++
	}
}
