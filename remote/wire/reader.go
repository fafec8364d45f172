package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/folio-db/folio/objects"
)

// Buffer sizes on either side of the decompressor.
const (
	rawBufSize     = 32 << 10 // the decoder reads block headers a few bytes at a time
	decodedBufSize = 16 << 10
)

// PackReader reads the objects of a pack one at a time, verifying each as
// it arrives. A PackReader is not safe for concurrent use.
type PackReader struct {
	src     sourceReader
	limits  Limits
	chunks  chunkReader
	dec     *zstd.Decoder
	records *bufio.Reader // the decompressed stream
	decoded int64         // bytes of it consumed
	count   uint64        // objects returned
	id      objects.ID    // the ID being read
	started bool
	err     error // sticky: io.EOF after the trailer, or the first failure
}

// NewPackReader returns a reader of the pack in r, which must hold the pack
// and nothing after it. Nothing is read before the first Next.
func NewPackReader(r io.Reader, limits Limits) *PackReader {
	return &PackReader{src: sourceReader{r: r}, limits: limits.withDefaults()}
}

// Next returns the next object of the pack, verified by objects.Verify: its
// bytes hash to its ID and decode as a canonical object. After the last
// object it checks the trailer and returns io.EOF. Any other error ends the
// pack: it wraps ErrTruncated if the pack was cut short (and the transport's
// own error, if there was one), objects.ErrTooLarge if a limit was exceeded,
// objects.ErrCorrupt or objects.ErrUnknownFormat if the bytes are wrong.
// Each object returned is verified on its own, but the pack as a whole only
// when Next returns io.EOF: a caller moves no ref before that.
func (pr *PackReader) Next() (objects.Object, error) {
	if pr.err != nil {
		return objects.Object{}, pr.err
	}
	obj, err := pr.next()
	if err != nil {
		pr.err = err
		if pr.dec != nil {
			putDecoder(pr.dec)
			pr.dec, pr.records = nil, nil
		}
	}
	return obj, err
}

// Count returns the number of objects returned so far.
func (pr *PackReader) Count() uint64 { return pr.count }

func (pr *PackReader) next() (objects.Object, error) {
	if !pr.started {
		if err := pr.start(); err != nil {
			return objects.Object{}, err
		}
	}
	var buf [maxVarintLen]byte
	size, n, err := readUvarint(pr.records, &buf)
	if err == io.EOF {
		return objects.Object{}, pr.finish()
	}
	if err != nil {
		return objects.Object{}, pr.streamError(err, "record length")
	}
	if err := pr.reserve(int64(n)); err != nil {
		return objects.Object{}, err
	}
	pr.decoded += int64(n)
	if size < objects.HeaderSize {
		return objects.Object{}, fmt.Errorf("wire: pack object %d: %w: a %d-byte record", pr.count, objects.ErrCorrupt, size)
	}
	if pr.count >= uint64(pr.limits.MaxObjects) {
		return objects.Object{}, fmt.Errorf("wire: pack: %w: more than %d objects", objects.ErrTooLarge, pr.limits.MaxObjects)
	}
	if size > uint64(pr.limits.MaxObjectSize) {
		return objects.Object{}, fmt.Errorf("wire: pack object %d: %w: %d bytes, the limit is %d",
			pr.count, objects.ErrTooLarge, size, pr.limits.MaxObjectSize)
	}
	if err := pr.reserve(int64(objects.IDSize) + int64(size)); err != nil {
		return objects.Object{}, err
	}
	// Read into a field: a local array passed to io.ReadFull would be
	// allocated for every object.
	if err := pr.readFull(pr.id[:], "object ID"); err != nil {
		return objects.Object{}, err
	}
	id := pr.id
	data := make([]byte, size)
	if err := pr.readFull(data, "object"); err != nil {
		return objects.Object{}, err
	}
	if err := objects.Verify(id, data); err != nil {
		return objects.Object{}, fmt.Errorf("wire: pack object %d (%s): %w", pr.count, id.Short(), err)
	}
	pr.count++
	return objects.Object{ID: id, Data: data}, nil
}

// start checks the header and opens the decompressor.
func (pr *PackReader) start() error {
	pr.started = true
	pr.chunks.raw = bufio.NewReaderSize(&pr.src, rawBufSize)
	var h [headerSize]byte
	n, err := io.ReadFull(pr.chunks.raw, h[:])
	pr.chunks.crc = crc32.Update(0, castagnoli, h[:n])
	if !bytes.HasPrefix([]byte(Magic), h[:min(n, len(Magic))]) {
		return fmt.Errorf("wire: %w: not a pack (no %q header)", objects.ErrCorrupt, Magic)
	}
	if err != nil {
		pr.chunks.fail(fmt.Errorf("%w: pack ends inside its header", ErrTruncated))
		return pr.streamError(err, "header")
	}
	if h[len(Magic)] != Version {
		return fmt.Errorf("wire: %w: pack version %d (this build reads %d)", objects.ErrUnknownFormat, h[len(Magic)], Version)
	}
	dec, err := getDecoder(&pr.chunks)
	if err != nil {
		return fmt.Errorf("wire: starting the decompressor: %w", err)
	}
	pr.dec = dec
	pr.records = bufio.NewReaderSize(dec, decodedBufSize)
	return nil
}

// finish checks the trailer. The compressed stream has just ended between
// two records, which it can only do at the end marker.
func (pr *PackReader) finish() error {
	if pr.src.err != nil || pr.chunks.err != nil {
		return pr.streamError(io.EOF, "record length")
	}
	if !pr.chunks.ended {
		return fmt.Errorf("wire: %w: the compressed stream ends before the pack", objects.ErrCorrupt)
	}
	count, err := pr.chunks.uvarint("trailer")
	if err != nil {
		return pr.streamError(err, "trailer")
	}
	want := pr.chunks.crc
	var sum [checksumSize]byte
	if err := pr.chunks.readFull(sum[:], "trailer"); err != nil {
		return pr.streamError(err, "trailer")
	}
	if got := binary.LittleEndian.Uint32(sum[:]); got != want {
		return fmt.Errorf("wire: %w: pack checksum %08x, computed %08x", objects.ErrCorrupt, got, want)
	}
	if count != pr.count {
		return fmt.Errorf("wire: %w: the trailer counts %d objects, the pack has %d", objects.ErrCorrupt, count, pr.count)
	}
	if _, err := pr.chunks.raw.ReadByte(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("wire: %w: data after the pack", objects.ErrCorrupt)
		}
		return pr.streamError(err, "end of pack")
	}
	return io.EOF
}

// readFull fills p from the decompressed stream.
func (pr *PackReader) readFull(p []byte, what string) error {
	n, err := io.ReadFull(pr.records, p)
	pr.decoded += int64(n)
	if err != nil {
		return pr.streamError(err, what)
	}
	return nil
}

// reserve checks that n more decompressed bytes stay within MaxBytes.
func (pr *PackReader) reserve(n int64) error {
	if n > pr.limits.MaxBytes-pr.decoded {
		return fmt.Errorf("wire: pack: %w: decompresses to over %d bytes", objects.ErrTooLarge, pr.limits.MaxBytes)
	}
	return nil
}

// streamError classifies a failure to read the pack, most telling cause
// first: the transport's own error, then the framing's (a cut pack), then
// the decompressor's, which may have turned either into anything.
func (pr *PackReader) streamError(err error, what string) error {
	if src := pr.src.err; src != nil {
		// A connection that broke mid-pack cut it short; the caller can
		// still test for the transport's error (context.Canceled ...).
		return fmt.Errorf("reading pack %s: %w: %w", what, ErrTruncated, src)
	}
	if pr.chunks.err != nil {
		return pr.chunks.err
	}
	switch {
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return fmt.Errorf("wire: reading pack %s: %w: zstd window over %d bytes", what, objects.ErrTooLarge, MaxWindow)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The chunks are whole, so it is the stream inside them that stops.
		return fmt.Errorf("wire: reading pack %s: %w: the compressed stream ends inside a record", what, objects.ErrCorrupt)
	case errors.Is(err, objects.ErrCorrupt):
		return fmt.Errorf("wire: reading pack %s: %w", what, err)
	}
	return fmt.Errorf("wire: reading pack %s: %w: %w", what, objects.ErrCorrupt, err)
}

// sourceReader keeps the transport's first error other than io.EOF, so that
// a broken connection is not mistaken for a corrupt stream.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}
