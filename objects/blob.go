package objects

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"unicode/utf8"
)

// Kind says how a document's content is treated by diff and merge.
type Kind uint8

// Document kinds. The numbers are part of the format.
const (
	KindText     Kind = 1 // UTF-8 text without NUL: line diff and diff3
	KindJSON     Kind = 2 // a JSON object or array: structural diff and merge
	KindBinary   Kind = 3 // anything else: whole-value compare
	KindConflict Kind = 4 // an entry of a conflicts map: points at a Conflict
)

func (k Kind) String() string {
	switch k {
	case KindText:
		return "text"
	case KindJSON:
		return "json"
	case KindBinary:
		return "binary"
	case KindConflict:
		return "conflict"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText shows a kind by name in JSON output.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind by name, so listings in JSON read back.
func (k *Kind) UnmarshalText(b []byte) error {
	for _, kind := range []Kind{KindText, KindJSON, KindBinary, KindConflict} {
		if string(b) == kind.String() {
			*k = kind
			return nil
		}
	}
	return fmt.Errorf("kind %q: want text, json, binary or conflict", b)
}

func (k Kind) valid() bool { return k >= KindText && k <= KindConflict }

// DetectKind classifies document content: a JSON object or array is JSON,
// valid UTF-8 without NUL is text, the rest is binary.
func DetectKind(content []byte) Kind {
	trimmed := bytes.TrimLeft(content, " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') &&
		utf8.Valid(content) && json.Valid(content) {
		return KindJSON
	}
	if utf8.Valid(content) && bytes.IndexByte(content, 0) < 0 {
		return KindText
	}
	return KindBinary
}

// EncodeBlob encodes document content (or one chunk of it) as a blob.
func EncodeBlob(content []byte) Object {
	data := make([]byte, HeaderSize, HeaderSize+len(content))
	return SealBlob(append(data, content...))
}

// SealBlob is EncodeBlob for content already in place after HeaderSize
// bytes of room at the start of data: it writes the header there and
// returns data as the encoding, without copying the content.
func SealBlob(data []byte) Object {
	data[0], data[1] = byte(TypeBlob), FormatVersion
	return newObject(data)
}

// BlobContent returns the content of an encoded blob (sharing its memory).
func BlobContent(data []byte) ([]byte, error) {
	t, err := TypeOf(data)
	if err != nil {
		return nil, err
	}
	if t != TypeBlob {
		return nil, fmt.Errorf("%w: want a blob, have a %s", ErrCorrupt, t)
	}
	return data[HeaderSize:], nil
}

// ChunkRef names one chunk of a large document.
type ChunkRef struct {
	ID   ID
	Size uint64
}

// Chunked is a large document stored as a sequence of blob chunks, so that
// no step needs the whole document in memory. Size is the sum of the chunks.
type Chunked struct {
	Size   uint64
	Chunks []ChunkRef
}

// Encode returns the canonical encoding and its ID.
func (c *Chunked) Encode() Object { return newObject(c.encode()) }

func (c *Chunked) encode() []byte {
	e := newEncoder(TypeChunked, 8+len(c.Chunks)*(IDSize+4))
	e.uvarint(c.Size)
	e.uvarint(uint64(len(c.Chunks)))
	for _, ch := range c.Chunks {
		e.id(ch.ID)
		e.uvarint(ch.Size)
	}
	return e.buf
}

// DecodeChunked decodes a chunked document.
func DecodeChunked(data []byte) (*Chunked, error) {
	d := newDecoder(data, TypeChunked)
	c := &Chunked{Size: d.uvarint()}
	n := d.count(IDSize + 1)
	var sum uint64
	for range n {
		ch := ChunkRef{ID: d.id(), Size: d.uvarint()}
		if d.err == nil && (ch.ID.IsZero() || ch.Size == 0) {
			d.fail("empty or zero-ID chunk")
		}
		if d.err == nil && ch.Size > math.MaxUint64-sum {
			d.fail("chunk sizes add up past 2^64")
		}
		sum += ch.Size
		c.Chunks = append(c.Chunks, ch)
	}
	if d.err == nil && (n == 0 || sum != c.Size) {
		d.fail("%d chunks adding up to %d bytes for a size of %d", n, sum, c.Size)
	}
	return c, d.finish(func() []byte { return c.encode() })
}
