// Package transfertest builds packs that a receiver must refuse, for the
// tests of everything that receives them (transfer, the server's push, a
// client's fetch). Each pack is in dependency order, its commit last.
package transfertest

import (
	"fmt"
	"time"

	"github.com/folio-db/folio/objects"
)

var author = objects.Signature{Name: "m", Email: "m@example.com"}

// commit is a commit on parent (zero: a root) with the given maps.
func commit(parent objects.ID, height uint64, when time.Time, index, conflicts objects.ID) objects.Object {
	var parents []objects.ID
	if !parent.IsZero() {
		parents = []objects.ID{parent}
	}
	return (&objects.Commit{Index: index, Conflicts: conflicts, Parents: parents, Height: height,
		Time: when.UTC(), Author: author}).Encode()
}

// ForeignChunking is a commit whose index is cut where the chunking rule
// does not cut it: two leaves of 20 documents each, split in the middle.
func ForeignChunking(parent objects.ID, height uint64, when time.Time) []objects.Object {
	blob := objects.EncodeBlob([]byte("x"))
	var items []objects.NodeItem
	for i := range 40 {
		items = append(items, objects.NodeItem{Key: fmt.Sprintf("k%03d", i), Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}})
	}
	left := (&objects.Node{Items: items[:20]}).Encode()
	right := (&objects.Node{Items: items[20:]}).Encode()
	root := (&objects.Node{Level: 1, Items: []objects.NodeItem{
		{Key: items[19].Key, Entry: objects.Entry{ID: left.ID, Size: 20}},
		{Key: items[39].Key, Entry: objects.Entry{ID: right.ID, Size: 20}},
	}}).Encode()
	return []objects.Object{blob, left, right, root, commit(parent, height, when, root.ID, objects.ID{})}
}

// DocumentsAsConflicts is a commit whose conflicts map holds a plain
// document where conflict records belong.
func DocumentsAsConflicts(parent objects.ID, height uint64, when time.Time) []objects.Object {
	blob := objects.EncodeBlob([]byte("not a record"))
	leaf := (&objects.Node{Items: []objects.NodeItem{{Key: "doc", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 12}}}}).Encode()
	return []objects.Object{blob, leaf, commit(parent, height, when, leaf.ID, leaf.ID)}
}
