// Package prolly implements the prolly map (as in Noms and Dolt) that folio
// uses for the index of every commit (document key -> objects.Entry) and for
// its conflicts map: a search tree whose shape depends only on its content.
//
// # Shape
//
// Leaves (level 0) hold sorted (key, entry) pairs. Each internal node holds,
// for each child, the child's last key and an Entry naming the child node
// (Kind 0, Size the number of leaf entries below it), so Count reads one
// node. Nodes are objects.Node objects, stored by ID; nodes are never empty
// and the empty map is the zero ID. The root is canonical: an internal node
// with a single child is never a root, its child is.
//
// # Content-defined boundaries
//
// Each level is one sorted sequence of items cut into nodes. After each
// item, splitAfter decides whether the node ends there, from a hash of the
// item's key salted by the level (FNV-1a 64 of level||key with the fmix64
// finisher) and the node's size in encoded bytes so far (objects.ItemSize):
// never under MinNodeSize (512 B), always at MaxNodeSize (16 KiB), and in
// between with a probability that grows with the size (Dolt's size-aware
// rule, here a Weibull hazard of shape 2), for nodes of about 4 KiB on
// average. The arithmetic is integer only, so every machine cuts the same
// way; the hash and the constants are part of the format (a golden test pins
// them).
//
// The decision depends only on the items since the previous boundary, so:
//
//   - the same key -> entry set gives the same nodes and root ID whatever
//     the order and batching of the edits that built it (history
//     independence, DESIGN invariant 8);
//   - an edit re-chunks from the start of the first node it touches and
//     stops where a new boundary falls on an old one past its last edit;
//     every other node is reused. A one-document change on a map of 10^6
//     entries writes the path to the root (4 nodes, about 16 KiB), and a
//     node or two more on the rare edits that move a boundary.
//
// Edit applies sorted batches level by level: the nodes it replaced and
// created at one level are the edits of the level above (delete the old
// last key, set the new last key to the new child). Builder builds a map
// from sorted entries in one streaming pass with bounded memory; Edit on the
// empty map uses it. Both give the same root for the same entries.
//
// # Reading
//
// Get and Iterate read one path and then only the leaves they return. Diff
// walks two maps with lazy cursors that step over a subtree without reading
// it when both sides stand on the same child ID, so its cost grows with the
// changes, not with the maps. Walk visits nodes top-down for fsck, closure
// checks and transfers, and can skip subtrees.
//
// # Trust
//
// Nodes come from objects.DecodeNode, which checks each node alone (sorted
// valid keys, known kinds, canonical bytes). On every path it reads, this
// package also checks that each child fits its parent: one level down, the
// same last key, keys above the previous sibling's, and the entry count the
// parent states. Walk, used on data received from elsewhere, checks in
// addition that every node is cut where the chunking rule cuts it, so that
// a map from a peer cannot break history independence. Failures wrap
// objects.ErrCorrupt. Hashes are checked where bytes enter (objects.Verify),
// not on every read.
//
// A Tree caches decoded nodes (bounded, DefaultCacheBytes); nodes are
// immutable, so the cache is never invalidated. Callbacks must not modify
// the nodes they are given.
package prolly
