package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/folio-db/folio/objects"
)

// errWriterClosed is returned by Write after Close.
var errWriterClosed = errors.New("wire: write to a closed pack writer")

// PackWriter streams objects into a pack. It holds no object after Write
// returns: its memory is the compressor's window and one block.
// A PackWriter is not safe for concurrent use.
type PackWriter struct {
	out     chunkWriter
	opts    WriterOptions
	enc     *zstd.Encoder
	count   uint64
	scratch []byte // record prefix (length and ID) or trailer
	started bool
	closed  bool
	err     error // sticky: the first failure ends the pack
}

// NewPackWriter returns a writer of a pack to w. Nothing is written before
// the first Write or Close, so creating one never blocks.
func NewPackWriter(w io.Writer, opts WriterOptions) *PackWriter {
	return &PackWriter{out: chunkWriter{w: w}, opts: opts, scratch: make([]byte, 0, maxVarintLen+objects.IDSize)}
}

// Write adds one object to the pack. The writer trusts obj (its bytes come
// from the sender's own store); the reader verifies it. obj.Data may be
// reused once Write returns.
func (pw *PackWriter) Write(obj objects.Object) error {
	if pw.closed {
		return errWriterClosed
	}
	if pw.err != nil {
		return pw.err
	}
	if len(obj.Data) < objects.HeaderSize {
		return fmt.Errorf("wire: object %s: %w: %d bytes", obj.ID.Short(), objects.ErrCorrupt, len(obj.Data))
	}
	if err := pw.start(); err != nil {
		return err
	}
	prefix := binary.AppendUvarint(pw.scratch[:0], uint64(len(obj.Data)))
	prefix = append(prefix, obj.ID[:]...)
	if _, err := pw.enc.Write(prefix); err != nil {
		return pw.fail(err)
	}
	if _, err := pw.enc.Write(obj.Data); err != nil {
		return pw.fail(err)
	}
	pw.count++
	return nil
}

// Close ends the compressed stream and writes the trailer. It does not
// close the underlying writer. Closing twice returns the first result.
func (pw *PackWriter) Close() error {
	if pw.closed {
		return pw.err
	}
	pw.closed = true
	if pw.err != nil {
		return pw.err
	}
	if err := pw.start(); err != nil {
		return err
	}
	if err := pw.enc.Close(); err != nil {
		return pw.fail(err)
	}
	pw.release()
	trailer := binary.AppendUvarint(pw.scratch[:0], endMarker)
	trailer = binary.AppendUvarint(trailer, pw.count)
	if err := pw.out.writeRaw(trailer); err != nil {
		return pw.fail(err)
	}
	// The checksum covers every byte before it, so it is not checksummed.
	sum := binary.LittleEndian.AppendUint32(pw.scratch[:0], pw.out.crc)
	if _, err := pw.out.w.Write(sum); err != nil {
		return pw.fail(err)
	}
	return nil
}

// start writes the header and opens the compressed stream.
func (pw *PackWriter) start() error {
	if pw.started {
		return nil
	}
	pw.started = true
	if err := pw.out.writeRaw(header()); err != nil {
		return pw.fail(err)
	}
	enc, err := getEncoder(pw.opts.Level, &pw.out)
	if err != nil {
		return pw.fail(err)
	}
	pw.enc = enc
	return nil
}

func (pw *PackWriter) fail(err error) error {
	pw.err = fmt.Errorf("wire: writing pack: %w", err)
	pw.release()
	return pw.err
}

// release returns the encoder to its pool once the stream is done with.
func (pw *PackWriter) release() {
	if pw.enc != nil {
		putEncoder(pw.opts.Level, pw.enc)
		pw.enc = nil
	}
}
