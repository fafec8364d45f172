package objects

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// Type is the tag in the first byte of every encoded object.
type Type uint8

// Object types. The numbers are part of the format: never reuse one.
const (
	TypeBlob       Type = 1 // document content, or one chunk of a large document
	TypeNode       Type = 2 // prolly map node (index or conflicts map)
	TypeCommit     Type = 3
	TypeConflict   Type = 4 // conflict record of one document
	TypeWorkingSet Type = 5 // staged state of one branch
	TypeChunked    Type = 6 // a large document as a list of blob chunks
)

// FormatVersion is the object format version written in the second byte of
// every encoded object. Decoders refuse any other.
const FormatVersion = 1

// HeaderSize is the number of bytes before an object's payload.
const HeaderSize = 2

func (t Type) String() string {
	switch t {
	case TypeBlob:
		return "blob"
	case TypeNode:
		return "node"
	case TypeCommit:
		return "commit"
	case TypeConflict:
		return "conflict"
	case TypeWorkingSet:
		return "workingset"
	case TypeChunked:
		return "chunked"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Object is an encoded object and its ID.
type Object struct {
	ID   ID
	Data []byte
}

// newObject seals an encoding: it computes the ID.
func newObject(data []byte) Object {
	return Object{ID: Hash(data), Data: data}
}

// TypeOf reads the header of an encoded object.
func TypeOf(data []byte) (Type, error) {
	if len(data) < HeaderSize {
		return 0, fmt.Errorf("%w: %d bytes is too short for an object header", ErrCorrupt, len(data))
	}
	t := Type(data[0])
	if t < TypeBlob || t > TypeChunked {
		return 0, fmt.Errorf("%w: object type %d", ErrUnknownFormat, data[0])
	}
	if !knownVersion(t, data[1]) {
		return 0, fmt.Errorf("%w: %s format version %d", ErrUnknownFormat, t, data[1])
	}
	return t, nil
}

// knownVersion reports whether this build reads objects of type t in
// format version v: commits in formats 1 to CommitFormatVersion,
// everything else in FormatVersion.
func knownVersion(t Type, v byte) bool {
	if t == TypeCommit {
		return v >= legacyCommitVersion && v <= CommitFormatVersion
	}
	return v == FormatVersion
}

// Verify checks that data is what id names: its hash matches and it decodes
// as a canonical object of a known type. It is the check run where bytes
// enter from outside (the network, fsck).
func Verify(id ID, data []byte) error {
	if got, ok := hashMatches(id, data); !ok {
		want, have := distinct(id, got)
		return fmt.Errorf("%w: %s hashes to %s", ErrCorrupt, want, have)
	}
	return verifyDecodes(data)
}

// VerifyStored is Verify for bytes read from the store (fsck): a hash
// mismatch is damage to the store's copy, a *DamagedError.
func VerifyStored(id ID, data []byte) error {
	if err := CheckStored(id, data); err != nil {
		return err
	}
	return verifyDecodes(data)
}

// verifyDecodes checks that data decodes as a canonical object of a known
// type.
func verifyDecodes(data []byte) error {
	if t, err := TypeOf(data); err != nil || t == TypeBlob {
		return err // any bytes are a blob's content
	}
	_, err := Decode(data)
	return err
}

// CheckStored checks that bytes read from a store hash to the ID they were
// stored under. Every store's Get calls it on what it returns, so no read
// hands on bytes that do not match their ID: a mismatch is a
// *DamagedError (errors.Is(err, ErrDamaged)) that names the object.
func CheckStored(id ID, data []byte) error {
	if got, ok := hashMatches(id, data); !ok {
		return &DamagedError{ID: id, Got: got}
	}
	return nil
}

// DamagedError is a stored object whose bytes no longer hash to its ID.
type DamagedError struct {
	ID  ID // the object read
	Got ID // what its bytes hash to
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("%v %s: its stored bytes hash to %s", ErrDamaged, e.ID, e.Got.Short())
}

// Unwrap makes errors.Is(err, ErrDamaged) hold.
func (e *DamagedError) Unwrap() error { return ErrDamaged }

// hashMatches is the one comparison of bytes with their ID.
func hashMatches(id ID, data []byte) (ID, bool) {
	got := Hash(data)
	return got, got == id
}

// Decode decodes any object. The result is one of []byte (blob content),
// *Node, *Commit, *Conflict, *WorkingSet, *Chunked.
func Decode(data []byte) (any, error) {
	t, err := TypeOf(data)
	if err != nil {
		return nil, err
	}
	switch t {
	case TypeBlob:
		return data[HeaderSize:], nil
	case TypeNode:
		return DecodeNode(data)
	case TypeCommit:
		return DecodeCommit(data)
	case TypeConflict:
		return DecodeConflict(data)
	case TypeWorkingSet:
		return DecodeWorkingSet(data)
	case TypeChunked:
		return DecodeChunked(data)
	}
	return nil, fmt.Errorf("%w: object type %d", ErrUnknownFormat, t)
}

// encoder appends the primitive fields of the canonical encoding.
type encoder struct{ buf []byte }

func newEncoder(t Type, sizeHint int) *encoder {
	e := &encoder{buf: make([]byte, 0, HeaderSize+sizeHint)}
	e.buf = append(e.buf, byte(t), FormatVersion)
	return e
}

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) varint(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) byte(b byte)      { e.buf = append(e.buf, b) }
func (e *encoder) id(id ID)         { e.buf = append(e.buf, id[:]...) }
func (e *encoder) bytes(b []byte) {
	e.uvarint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}
func (e *encoder) string(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// decoder reads the fields an encoder wrote. The first error sticks; later
// reads return zero values, so decode functions check err once at the end.
type decoder struct {
	data []byte
	pos  int
	err  error
	what Type
}

func newDecoder(data []byte, want Type) *decoder {
	d := &decoder{data: data, what: want}
	t, err := TypeOf(data)
	switch {
	case err != nil:
		d.err = err
	case t != want:
		d.err = fmt.Errorf("%w: want a %s, have a %s", ErrCorrupt, want, t)
	}
	d.pos = HeaderSize
	return d
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d: %s", ErrCorrupt, d.what, d.pos, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.data[d.pos:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.data[d.pos:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.pos += n
	return v
}

// count reads a length or item count and checks that at least min bytes per
// item remain, so a hostile count cannot make the decoder allocate.
func (d *decoder) count(minBytesEach int) int {
	v := d.uvarint()
	if d.err != nil {
		return 0
	}
	if v > math.MaxInt32 || int(v)*max(minBytesEach, 1) > len(d.data)-d.pos {
		d.fail("count %d exceeds the remaining %d bytes", v, len(d.data)-d.pos)
		return 0
	}
	return int(v)
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.data) {
		d.fail("unexpected end")
		return 0
	}
	b := d.data[d.pos]
	d.pos++
	return b
}

func (d *decoder) id() ID {
	var id ID
	if d.err != nil {
		return id
	}
	if len(d.data)-d.pos < IDSize {
		d.fail("unexpected end")
		return id
	}
	copy(id[:], d.data[d.pos:])
	d.pos += IDSize
	return id
}

func (d *decoder) bytes() []byte {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	b := d.data[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return b
}

func (d *decoder) string() string { return string(d.bytes()) }

// finish checks that every byte was read and that re-encoding gives the same
// bytes, so each object has exactly one encoding (no overlong varints,
// no unsorted lists, no trailing garbage).
func (d *decoder) finish(reencode func() []byte) error {
	if d.err != nil {
		return d.err
	}
	if d.pos != len(d.data) {
		d.fail("%d trailing bytes", len(d.data)-d.pos)
		return d.err
	}
	if !bytes.Equal(reencode(), d.data) {
		return fmt.Errorf("%w: %s is not in canonical form", ErrCorrupt, d.what)
	}
	return nil
}

// distinct returns the short forms of two different IDs, long enough to
// tell them apart.
func distinct(a, b ID) (string, string) {
	x, y := a.String(), b.String()
	n := ShortIDLen
	for n < len(x) && x[:n] == y[:n] {
		n += 4
	}
	return x[:n], y[:n]
}
