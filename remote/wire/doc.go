// Package wire is what leaders exchange over HTTP: the pack, a streamed and
// compressed run of objects, and the error shape of the JSON control
// messages. It knows nothing of HTTP, stores or refs.
//
// # Packs
//
// Objects travel as one pack per request. A pack is written while it is
// sent and read while it arrives; neither side ever holds it whole.
//
//	pack    = header chunk* end count checksum
//	header  = "FOLIOPK" version                 8 bytes, version 1
//	chunk   = uvarint(n) byte[n]                n > 0: the next n bytes of
//	                                            one zstd stream
//	end     = 0x00                              the zstd stream is complete
//	count   = uvarint                           objects in the pack
//	checksum= CRC-32C, little-endian            of every byte before it
//
//	the zstd stream decompresses to  record*
//	record  = uvarint(len) ID[32] object[len]   len >= 2 (type and version)
//
// Varints are minimal (encoding/binary's uvarint, no overlong forms), so
// a pack has one reading.
//
// Why this shape:
//
//   - The ID travels with each object. It is the hash, so it could be
//     recomputed, but then Verify would check nothing: a byte damaged in
//     transit inside a blob would give a blob that is well formed, has a
//     new ID and that nobody sent. With the ID sent, objects.Verify(id,
//     data) catches it at that object, before it is returned, so a reader
//     never hands out an object the writer did not write. That matters
//     because objects are returned as they arrive, long before the
//     trailer is read. The cost is small where it counts: a fetch sends
//     objects in dependency order, so each ID also appears in the node or
//     commit that names it, a few KiB later, and zstd codes one of the two
//     as a back-reference. BenchmarkIDOverhead measures 3% more bytes for
//     JSON blobs followed by their leaf nodes, 20% for loose blobs that
//     nothing in the pack names (the worst case).
//   - The chunk framing puts the end of the pack outside the compressed
//     stream, so the trailer's CRC can cover the bytes as they travel,
//     compressed. zstd ignores some bits (the frame header's unused bit,
//     a few bits inside compressed blocks), so a checksum of the
//     decompressed bytes let some damaged packs through when tried; this
//     one does not: a change to any byte is an error (a test flips each
//     bit, and all bits, of every byte of a small pack). zstd's own
//     checksum is off: it would check the same content a second time.
//   - The end marker and the count let a reader tell a complete pack from
//     one cut exactly between records: any cut is ErrTruncated, never
//     io.EOF.
//   - The stream is compressed as a whole, not object by object, so small
//     objects share their redundancy (the same JSON keys in every record).
//     The writer uses zstd's fastest level by default: a pack is made per
//     request, and the sender's CPU costs more than a few percent of bytes.
//
// # Verification and limits
//
// PackReader.Next checks every object with objects.Verify (hash and
// canonical decode) before returning it: the one place where replicated
// bytes are checked. A caller may store objects as they come, but moves no
// ref before Next has returned io.EOF, which means the trailer's count and
// checksum matched and nothing followed the pack.
//
// Limits bound what a hostile or broken sender can make a reader do. The
// record length is checked against MaxObjectSize before the object is read
// or allocated; MaxObjects and MaxBytes (decompressed bytes) bound the
// pack; the zstd window is refused above MaxWindow before the decoder
// allocates it. Exceeding any of them is objects.ErrTooLarge.
//
// # Memory
//
// A writer holds the zstd encoder (its window, 4 MiB, and a block) and
// nothing of the objects once Write returns. A reader holds the object it
// is returning (at most MaxObjectSize), the zstd decoder's history (at
// most MaxWindow = 8 MiB, refused above that before it is allocated) and
// two buffers (48 KiB): about MaxObjectSize + 8 MiB, whatever the size of
// the pack. BenchmarkPackPipe streams packs of 256 MiB and 1 GiB through
// an io.Pipe, writer and reader in one process, and measures the same
// peak heap for both (about 35 MiB, garbage included). Encoders and
// decoders are pooled, since setting one up allocates about 0.8 MB; a
// pooled decoder keeps its history until the garbage collector empties
// the pool.
//
// # Errors
//
// Control messages report failures as Error {code, message}. ErrorCode maps
// an error to the stable code of the sentinel it wraps, and CodeError maps
// a code back to an error that errors.Is matches against the same
// sentinel, so errors.Is(err, objects.ErrRefChanged) holds for a failure
// that happened on the server.
package wire
