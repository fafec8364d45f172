package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/folio-db/folio/objects"
)

// errBadVarint: a uvarint that is overlong, overflows or never ends.
var errBadVarint = fmt.Errorf("%w: malformed varint", objects.ErrCorrupt)

// chunkWriter frames what the compressor writes as length-prefixed chunks
// and checksums every byte it passes on, so that the trailer's CRC covers
// the pack as it travels.
type chunkWriter struct {
	w       io.Writer
	crc     uint32
	scratch [maxVarintLen]byte
}

// Write sends p as one chunk.
func (c *chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil // a zero length would read as the end marker
	}
	if err := c.writeRaw(binary.AppendUvarint(c.scratch[:0], uint64(len(p)))); err != nil {
		return 0, err
	}
	if err := c.writeRaw(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeRaw sends b as it is and adds it to the checksum.
func (c *chunkWriter) writeRaw(b []byte) error {
	c.crc = crc32.Update(c.crc, castagnoli, b)
	_, err := c.w.Write(b)
	return err
}

// chunkReader undoes chunkWriter: it reads the compressed stream out of its
// chunks, returns io.EOF at the end marker and checksums every byte it
// consumes. It reads nothing past the end marker.
type chunkReader struct {
	raw   *bufio.Reader
	crc   uint32
	left  uint64 // bytes left in the current chunk
	ended bool   // the end marker was read
	err   error  // sticky: the pack itself is cut short or malformed
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 {
		if c.ended {
			return 0, io.EOF
		}
		n, err := c.uvarint("chunk length")
		if err != nil {
			return 0, err
		}
		c.left, c.ended = n, n == endMarker
	}
	if uint64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.raw.Read(p)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	c.left -= uint64(n)
	if err == io.EOF {
		err = c.fail(fmt.Errorf("%w: pack ends inside a chunk", ErrTruncated))
	}
	return n, err
}

// uvarint reads and checksums a uvarint of the raw pack.
func (c *chunkReader) uvarint(what string) (uint64, error) {
	var buf [maxVarintLen]byte
	v, n, err := readUvarint(c.raw, &buf)
	c.crc = crc32.Update(c.crc, castagnoli, buf[:n])
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return 0, c.fail(fmt.Errorf("%w: pack ends before its %s", ErrTruncated, what))
	case err != nil:
		return 0, c.fail(fmt.Errorf("wire: %s: %w", what, err))
	}
	return v, nil
}

// readFull reads and checksums len(p) bytes of the raw pack.
func (c *chunkReader) readFull(p []byte, what string) error {
	n, err := io.ReadFull(c.raw, p)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	if err != nil {
		return c.fail(fmt.Errorf("%w: pack ends inside its %s", ErrTruncated, what))
	}
	return nil
}

func (c *chunkReader) fail(err error) error {
	if c.err == nil {
		c.err = err
	}
	return c.err
}

// readUvarint reads a minimally encoded uvarint into buf and returns its
// value and length. It returns io.EOF if r was at its end, and
// io.ErrUnexpectedEOF if r ended inside the varint.
func readUvarint(r io.ByteReader, buf *[maxVarintLen]byte) (v uint64, n int, err error) {
	for n < maxVarintLen {
		b, err := r.ReadByte()
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, n, err
		}
		buf[n] = b
		n++
		if b < 0x80 {
			v, m := binary.Uvarint(buf[:n])
			if m <= 0 || (n > 1 && b == 0) {
				return 0, n, errBadVarint
			}
			return v, n, nil
		}
	}
	return 0, n, errBadVarint
}
