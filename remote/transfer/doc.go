// Package transfer decides which objects one leader sends another and
// applies what arrives. Server and client use it the same way: the sender
// of a fetch is the server, the sender of a push is the client.
//
// # What to send
//
// The receiver names the commits it has (haves); the sender walks from the
// commits wanted down, highest first, and stops where the walk reaches what
// the haves reach (commit heights let it stop without reading the rest of
// history). For each commit to send it compares the commit's maps with its
// first parent's by walking both prolly trees level by level and keeping
// only the nodes whose IDs the parent's tree lacks in the same key range,
// then the documents (and chunks) those new leaves add. The work and the
// bytes grow with what changed, not with the size of the index. The
// sender remembers what it sent, so nothing goes twice, and the commits it
// is to send: past a fixed number of IDs in memory, in temporary files
// (spill.go), so its memory does not grow with the history either. A
// clone first sends the documents in the store's order; every entry of
// an index sent is one of those, so the rest of the send needs no look-up
// to know the blobs among them sent (walkSet). The pack is compressed on
// a goroutine of its own (packPipe), beside the reading.
//
// # Remote stores
//
// The CLI of a served repository reads and writes the server's store over
// HTTP (remote/client.Store), where each object read is a round trip. Such
// a store sends a pack by having its server make it (PackSender), and
// answers the receiver's and Admit's questions about stored objects in
// batches (BatchReader), so a push or a fetch through it costs a few
// requests, not one per object.
//
// # Order, and checking on arrival
//
// Objects are sent in dependency order: chunks before the documents that
// list them, documents before the leaves that name them, children before
// parents, conflict records before their maps, maps and parents before
// commits. The receiver checks, for every object, that all it references
// is already stored or arrived earlier in the same pack, with the right
// type, and that commit heights follow, and refuses the pack otherwise.
//
// # What a stored map proves
//
// A new node of a small change names mostly what the node it replaces
// named: the other documents of a leaf, the other children of a parent.
// Reading each of those from the store to check it (a Badger read
// decompresses a whole block) was most of the work of a fetch of one
// commit. But the parent commit's map holds them already, and a stored
// map was checked whole when it was stored, its closure with it. So the
// receiver looks a reference up in the maps of the pack's stored parents
// first (parentMaps: a few nodes on the path to its key): the same object
// at the same level and key, with a kind of the same class, is stored and
// of the right type. Admit likewise does not read a stored child that
// such a map of the same role holds under the same item with the same key
// before it, ending its level there only if it ends it here: every check
// of its fit held there. Whatever no map proves is read and checked.
//
// # Quarantine
//
// A receiver puts what arrives into a quarantine of its store
// (objects.Quarantine), as Git's receive-pack does: no reader and no
// other transfer sees it. Once the pack is complete, Admit walks from the
// commits the refs are about to name down through what arrived, checks
// each map whole (structure, chunking, and the role of each entry) and
// collects what it reached; Promote then makes exactly those objects
// visible together with the ref moves. A pack refused, cut off, or whose
// ref update loses a race leaves nothing, so everything the store shows
// was checked, a later update that names a stored commit needs no new
// check, and objects no ref reaches never enter the store.
package transfer
