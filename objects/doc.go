// Package objects is the vocabulary of one folio leader: content addresses,
// the canonical encodings of every object, document keys, refs, and the
// small interfaces a store implements.
//
// # Objects
//
// Every object is encoded as a type tag byte, a format version byte and a
// payload. Its ID is the BLAKE3-256 digest of that encoding, so equal
// content has one ID everywhere. Each type has exactly one encoding: the
// decoders re-encode what they read and reject any input that does not come
// back byte for byte (overlong varints, unsorted keys, trailing bytes), and
// they refuse unknown types and versions instead of guessing.
//
//	blob        document content (or one chunk of a large document)
//	chunked     a large document as an ordered list of blob chunks
//	node        a prolly map node: sorted keys with entries (leaf) or
//	            child node IDs and counts (internal)
//	commit      index root, conflicts root, ordered parents, height,
//	            author, time with zone offset, message
//	conflict    one document's conflicting versions and the winner
//	workingset  the staged index and conflicts of one branch
//
// The zero ID names nothing: it is the empty map, an absent side of a
// conflict, a missing ref.
//
// # Keys
//
// A document key is a '/'-separated UTF-8 path (ValidateKey): every node
// decoded is checked against it. A key being written must also pass
// ValidateNewKey: no segment that a filesystem could take for a .git or
// .folio folder (ReservedName), so that no document can become git's or
// folio's own metadata when written out as a file. Reads and deletes use
// ValidateKey only, so repositories that hold such keys from before the
// rule still open and can be cleaned up.
//
// # Stores
//
// A Store keeps objects and refs together so that a commit is one atomic
// step: objects are put first (in any order, in as many batches as needed),
// then UpdateRefs moves every ref of the operation at once by
// compare-and-swap. Objects no ref reaches are harmless garbage, so a crash
// between the two steps loses nothing that was acknowledged. The Badger
// store (objects/badgerstore) is the real one; objects/memstore is for unit
// tests; objects/storetest is the conformance suite both pass.
//
// Bytes that enter from outside are checked by Verify, in one place: the
// hash must match and the object must decode.
//
// # Closure on write
//
// Every writer stores an object only after everything it references
// (References): blobs and chunks before the leaves that name them, children
// before parents, maps and parents before commits. So every stored object's
// closure is stored too, even after a crash cut a batch short, and a
// receiver can check an arriving object by looking up its references
// alone: present in the store means complete.
//
// # Quarantine
//
// Objects from another leader wait in a Quarantine of the store, unseen
// by its readers, until the ref update they came for succeeds: Promote
// then moves the ones the checks reached into the store, in arrival order,
// with the refs. So present in the store also means checked, and a
// refused or cut transfer leaves nothing behind.
package objects
