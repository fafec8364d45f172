package repo

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestChunkerIsFixed pins the chunker: its gear table, made on first use,
// and where it cuts a fixed stream. Every build must cut a document at the
// same places, or the same large document stored twice would not share
// its chunks.
func TestChunkerIsFixed(t *testing.T) {
	t.Parallel()
	table := gear()
	if table[0] != 0xed5339bd42520a1d || table[255] != 0xfc4ac5d0fce6626b {
		t.Errorf("gear table starts %#x and ends %#x", table[0], table[255])
	}
	if gear() != table {
		t.Error("the gear table is made more than once")
	}
	data := make([]byte, chunkMax+1)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	var cuts []int
	for rest := data; len(rest) > 0; {
		n := nextCut(rest)
		cuts = append(cuts, n)
		rest = rest[n:]
	}
	if want := []int{1015119, 3179186}; !slices.Equal(cuts, want) {
		t.Errorf("cuts %v, want %v", cuts, want)
	}
}
