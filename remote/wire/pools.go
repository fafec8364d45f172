package wire

import (
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Encoders and decoders are pooled: setting one up allocates about 0.8 MB
// of tables and buffers, which would dominate the cost of a small pack.
// A pooled decoder keeps its window (at most MaxWindow) until the garbage
// collector empties the pool.
var (
	encoderPools [LevelBetter + 1]sync.Pool
	decoderPool  sync.Pool
)

func getEncoder(level Level, w io.Writer) (*zstd.Encoder, error) {
	level = level.valid()
	if enc, ok := encoderPools[level].Get().(*zstd.Encoder); ok {
		enc.Reset(w)
		return enc, nil
	}
	return zstd.NewWriter(w,
		zstd.WithEncoderLevel(level.zstd()),
		zstd.WithWindowSize(writerWindow),
		// Synchronous: no goroutines per request, and memory stays at one
		// window; a server runs many packs at once on few cores.
		zstd.WithEncoderConcurrency(1),
		// The pack's own checksum covers the compressed bytes, and the IDs
		// the objects: zstd's checksum would add nothing.
		zstd.WithEncoderCRC(false),
	)
}

// putEncoder returns an encoder to its pool, dropping its writer.
func putEncoder(level Level, enc *zstd.Encoder) {
	enc.Reset(nil)
	encoderPools[level.valid()].Put(enc)
}

func getDecoder(r io.Reader) (*zstd.Decoder, error) {
	if dec, ok := decoderPool.Get().(*zstd.Decoder); ok {
		if err := dec.Reset(r); err == nil {
			return dec, nil
		}
	}
	return zstd.NewReader(r,
		// Synchronous: no goroutines to leak if the caller stops early.
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(MaxWindow),
		zstd.WithDecoderMaxMemory(MaxWindow),
	)
}

// putDecoder returns a decoder to the pool, dropping its reader.
func putDecoder(dec *zstd.Decoder) {
	dec.Reset(nil)
	decoderPool.Put(dec)
}
