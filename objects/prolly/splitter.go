package prolly

import (
	"math/bits"
	"slices"

	"github.com/folio-db/folio/objects"
)

// Chunking parameters. They are part of the format: changing any of them
// (or boundaryHash) changes the root ID of every map.
const (
	// MinNodeSize: no boundary while a node's items take fewer bytes.
	MinNodeSize = 512
	// MaxNodeSize: a boundary as soon as a node's items take this many bytes.
	MaxNodeSize = 16 << 10
	// sizeScale (λ) shapes the size distribution above MinNodeSize: the
	// bytes past the minimum follow a Weibull law of shape 2 and scale λ,
	// whose mean 0.886 λ puts the average node near 4 KiB.
	sizeScale  = 4000
	sizeScale2 = uint64(sizeScale) * sizeScale
)

// boundaryHash is the hash a boundary is decided on: FNV-1a 64 over the
// level byte followed by the key's bytes, finished with the MurmurHash3
// fmix64 mixer so that keys differing only in their last bytes still spread
// over all 64 bits. Only the key counts, not the entry: changing a
// document's content moves no boundary unless its item changes size.
func boundaryHash(level uint8, key string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	h ^= uint64(level)
	h *= prime
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// splitAfter decides whether a node ends after an item, given the node's
// size in bytes before and after the item. It is a pure function of its
// arguments, so a node's boundaries depend only on the items since the
// previous boundary: that is what makes the map history independent and lets
// an edit re-chunk from the start of the first touched node.
//
// Between the two bounds, the item ends the node with probability
// (x1² - x0²)/λ² (clamped at 1), where x0 and x1 are the sizes past
// MinNodeSize before and after it: the hazard of a Weibull law of shape 2,
// Dolt's size-aware rule. The chance grows with the node's size, which
// keeps sizes near the target, and depends on bytes rather than item
// counts. Dolt uses shape 4, which gives tighter sizes; shape 2 makes a
// boundary less sensitive to a nearby insert or delete (which shifts the
// sizes by one item), so the new boundaries meet the old ones sooner and an
// edit rewrites fewer nodes (about 1% of one-item edits rewrite more than two
// leaves instead of 4%). The probability is computed exactly in 128-bit
// integer arithmetic and compared with the key's hash: no floating point, so
// every machine draws the same boundaries.
func splitAfter(level uint8, key string, before, after int) bool {
	if after < MinNodeSize {
		return false
	}
	if after >= MaxNodeSize {
		return true
	}
	x0 := uint64(max(before-MinNodeSize, 0))
	x1 := uint64(after - MinNodeSize)
	d := x1*x1 - x0*x0
	if d >= sizeScale2 {
		return true
	}
	threshold, _ := bits.Div64(d, 0, sizeScale2) // d·2^64/λ² < 2^64
	return boundaryHash(level, key) < threshold
}

// chunker cuts one level's item sequence into nodes. Its only state is the
// current node, which a boundary empties.
type chunker struct {
	level uint8
	items []objects.NodeItem
	size  int
	// lend: the nodes it ends take their part of items' array rather than
	// a copy. An edit sets it: grow sizes that array to the old node being
	// re-chunked, so a node pins no more than that.
	lend bool
}

// add appends an item and returns the node it ends, or nil.
func (c *chunker) add(it objects.NodeItem) *objects.Node {
	before := c.size
	c.size += objects.ItemSize(c.level, it)
	c.items = append(c.items, it)
	if splitAfter(c.level, it.Key, before, c.size) {
		return c.flush()
	}
	return nil
}

// grow makes room for n more items: an edit copies an old node's items
// into the chunker, and appending them one by one grew the slice in steps.
func (c *chunker) grow(n int) { c.items = slices.Grow(c.items, n) }

// empty reports whether the chunker sits on a boundary.
func (c *chunker) empty() bool { return len(c.items) == 0 }

// flush returns what is left as a node (nil if nothing): the end of a level
// needs no boundary.
func (c *chunker) flush() *objects.Node {
	if len(c.items) == 0 {
		return nil
	}
	if c.lend {
		k := len(c.items)
		n := &objects.Node{Level: c.level, Items: c.items[:k:k]}
		c.items, c.size = c.items[k:], 0 // the rest of the array, which n cannot reach
		return n
	}
	n := &objects.Node{Level: c.level, Items: slices.Clone(c.items)}
	c.items, c.size = c.items[:0], 0
	return n
}
