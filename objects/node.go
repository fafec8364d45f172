package objects

import (
	"fmt"
	"sync"
)

// Entry is the value a map stores under a key. In a leaf of an index it
// names a document version: its blob (or chunked blob) ID, its kind and its
// size in bytes. In a leaf of a conflicts map Kind is KindConflict and ID
// names a Conflict record. In an internal node Kind is 0, ID names the child
// node and Size counts the leaf entries below it.
type Entry struct {
	ID   ID
	Kind Kind
	Size uint64
}

// NodeItem is one key and its entry in a prolly map node. In internal nodes
// the key is the last key of the child.
type NodeItem struct {
	Key   string
	Entry Entry
}

// MaxNodeLevel bounds the height of a prolly tree; far above any real tree.
const MaxNodeLevel = 40

// Node is one node of a prolly map: a leaf (Level 0) or an internal node.
// Keys are strictly increasing. Nodes are never empty: the empty map is the
// zero ID.
type Node struct {
	Level uint8
	Items []NodeItem
}

// ItemSize is the number of bytes an item takes in the encoding of a node at
// level; chunking boundaries are decided on it.
func ItemSize(level uint8, it NodeItem) int {
	n := uvarintLen(uint64(len(it.Key))) + len(it.Key) + IDSize + uvarintLen(it.Entry.Size)
	if level == 0 {
		n++ // kind
	}
	return n
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// Encode returns the canonical encoding and its ID.
func (n *Node) Encode() Object { return newObject(n.encode()) }

func (n *Node) encode() []byte {
	size := HeaderSize + 8
	for _, it := range n.Items {
		size += ItemSize(n.Level, it)
	}
	return n.appendEncoding(make([]byte, 0, size))
}

// appendEncoding appends the canonical encoding to buf.
func (n *Node) appendEncoding(buf []byte) []byte {
	e := encoder{buf: append(buf, byte(TypeNode), FormatVersion)}
	e.byte(n.Level)
	e.uvarint(uint64(len(n.Items)))
	for _, it := range n.Items {
		e.string(it.Key)
		e.id(it.Entry.ID)
		if n.Level == 0 {
			e.byte(byte(it.Entry.Kind))
		}
		e.uvarint(it.Entry.Size)
	}
	return e.buf
}

// reencodings holds the buffers DecodeNode re-encodes nodes into to check
// that their bytes are canonical: a walk decodes thousands of nodes, and
// each check's buffer is garbage as soon as it is compared.
var reencodings = sync.Pool{New: func() any { return new([]byte) }}

// DecodeNode decodes a prolly map node and checks its structure.
func DecodeNode(data []byte) (*Node, error) {
	d := newDecoder(data, TypeNode)
	n := &Node{Level: d.byte()}
	if d.err == nil && n.Level > MaxNodeLevel {
		d.fail("level %d", n.Level)
	}
	count := d.count(IDSize + 2)
	if d.err == nil && count == 0 {
		d.fail("empty node")
	}
	n.Items = make([]NodeItem, 0, count)
	for i := 0; i < count && d.err == nil; i++ {
		it := NodeItem{Key: d.string(), Entry: Entry{ID: d.id()}}
		if n.Level == 0 {
			it.Entry.Kind = Kind(d.byte())
			if d.err == nil && !it.Entry.Kind.valid() {
				d.fail("unknown kind %d", it.Entry.Kind)
			}
		}
		it.Entry.Size = d.uvarint()
		if d.err == nil && n.Level > 0 && it.Entry.Size == 0 {
			d.fail("child %q counts no entries", it.Key)
		}
		if d.err == nil && i > 0 && n.Items[i-1].Key >= it.Key {
			d.fail("keys out of order: %q after %q", it.Key, n.Items[i-1].Key)
		}
		if d.err == nil && ValidateKey(it.Key) != nil {
			d.fail("invalid key %q", it.Key)
		}
		if d.err == nil && it.Entry.ID.IsZero() {
			d.fail("zero ID for key %q", it.Key)
		}
		n.Items = append(n.Items, it)
	}
	buf := reencodings.Get().(*[]byte)
	defer reencodings.Put(buf)
	return n, d.finish(func() []byte { *buf = n.appendEncoding((*buf)[:0]); return *buf })
}

// String is for debugging.
func (n *Node) String() string {
	return fmt.Sprintf("node(level %d, %d items)", n.Level, len(n.Items))
}
