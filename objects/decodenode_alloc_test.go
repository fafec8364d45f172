package objects

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"
)

// TestDecodeNodeAllocs: decoding a node allocates what the node holds (its
// items and keys) and not a buffer for the check that its bytes are
// canonical: a listing of 100,000 keys decodes ~2,000 leaves, and a
// re-encoding the size of each leaf was garbage at once.
func TestDecodeNodeAllocs(t *testing.T) {
	n := &Node{}
	held := 0
	for i := range 60 {
		key := fmt.Sprintf("docs/%08d.json", i)
		n.Items = append(n.Items, NodeItem{Key: key, Entry: Entry{ID: Hash([]byte{byte(i)}), Kind: KindJSON, Size: uint64(i + 1)}})
		held += int(unsafe.Sizeof(NodeItem{})) + len(key)
	}
	data := n.Encode().Data
	if _, err := DecodeNode(data); err != nil {
		t.Fatal(err)
	}
	const runs = 100
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if _, err := DecodeNode(data); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	perDecode := int(after.TotalAlloc-before.TotalAlloc) / runs
	// Allocations round up to size classes: half the node's size is room
	// for that, not for another copy of it.
	if want := held + len(data)/2; perDecode > want {
		t.Errorf("DecodeNode of a %d-byte node allocates %d bytes, want at most %d (it holds %d)", len(data), perDecode, want, held)
	}
}
