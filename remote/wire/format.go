package wire

import (
	"hash/crc32"

	"github.com/klauspost/compress/zstd"
)

// The pack format (see doc.go). Every number here is part of it: a change
// that an older reader would misread needs a new Version.
const (
	// Magic opens every pack.
	Magic = "FOLIOPK"
	// Version is the pack format version, the byte after Magic.
	Version = 1
	// headerSize is Magic plus the version byte.
	headerSize = len(Magic) + 1
	// endMarker is the chunk length that ends the compressed stream.
	endMarker = 0
	// checksumSize is the length of the trailer's CRC-32C.
	checksumSize = 4
	// maxVarintLen is the longest uvarint the format reads.
	maxVarintLen = 10
)

// MaxWindow is the largest zstd window a pack may use. Readers refuse a
// frame that declares more, so a hostile pack cannot make them allocate
// beyond it; 8 MiB is the size zstd asks every decoder to support.
const MaxWindow = 8 << 20

// writerWindow is the window the writer compresses with. Objects are small
// and their redundancy is local (repeated JSON keys, shared prefixes), so a
// longer window buys little and costs the sender memory per request.
const writerWindow = 4 << 20

// castagnoli is the CRC-32C table, hardware-accelerated on amd64 and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header returns the bytes that open a pack of the current version.
func header() []byte { return append([]byte(Magic), Version) }

// Level trades compression ratio for speed. The zero value is LevelFastest.
type Level int

// Compression levels.
const (
	// LevelFastest is the default: packs are made per request, so the
	// sender's CPU matters more than a few percent of bytes.
	LevelFastest Level = iota
	// LevelDefault is zstd's default level (about zstd -3).
	LevelDefault
	// LevelBetter compresses more at roughly half the speed of the default.
	LevelBetter
)

// valid maps an unknown level to LevelFastest.
func (l Level) valid() Level {
	if l < LevelFastest || l > LevelBetter {
		return LevelFastest
	}
	return l
}

func (l Level) zstd() zstd.EncoderLevel {
	switch l {
	case LevelDefault:
		return zstd.SpeedDefault
	case LevelBetter:
		return zstd.SpeedBetterCompression
	}
	return zstd.SpeedFastest
}

// WriterOptions configure a PackWriter. The zero value is ready to use.
type WriterOptions struct {
	Level Level
}

// Defaults for the zero fields of Limits.
const (
	// DefaultMaxObjectSize is above any object the repository layer writes:
	// documents over a few MiB are split into chunks.
	DefaultMaxObjectSize = 16 << 20
	// DefaultMaxObjects admits a clone of a repository of several million
	// documents with history.
	DefaultMaxObjects = 1 << 26
	// DefaultMaxBytes bounds the decoded size of one pack.
	DefaultMaxBytes = 64 << 30
)

// Limits bound what a PackReader accepts; exceeding one is an error that
// wraps objects.ErrTooLarge. A zero or negative field takes its default.
type Limits struct {
	// MaxObjectSize is the largest encoded object, in bytes. It is
	// checked against the record's length before the object is read.
	MaxObjectSize int64
	// MaxObjects is the most objects one pack may carry.
	MaxObjects int64
	// MaxBytes is the most bytes one pack's compressed stream may decode
	// to (its records). It bounds what a small, highly compressed pack can
	// make the reader do; the compressed size is the transport's to bound.
	MaxBytes int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxObjectSize <= 0 {
		l.MaxObjectSize = DefaultMaxObjectSize
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = DefaultMaxObjects
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}
