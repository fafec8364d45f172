package badgerstore

import (
	"fmt"

	"github.com/folio-db/folio/objects"
)

// Key layout. One byte says what a key holds, so objects, refs and the
// format record never collide, and Badger's own keys ("!badger!...") stay
// apart from all of them.
//
//	"f"          -> formatRecord
//	"o" + ID     -> the encoded object
//	"r" + name   -> the 32-byte ID the ref points at
//	"j" + number -> a chunk of a large ref update's journal (bigrefs.go)
//	"J"          -> the journal is decided: apply it
//	"q" + ...    -> objects in quarantine (quarantine.go)
//	"s"          -> the change feed's latest sequence number (8 bytes)
//	"c" + seq    -> one branch move of the change feed (feed.go)
//	"e" + time   -> a time mark (big-endian Unix seconds), empty (collect.go)
//	"h" + ID     -> a value a ref left, empty (collect.go)
//	"d"          -> bytes deleted since the tables were last rewritten
//	"z"          -> written and dropped to flush the memtables
const (
	formatKey        = "f"
	pendingKey       = "d"
	objectPrefix     = 'o'
	refPrefix        = 'r'
	quarantinePrefix = 'q'
	markPrefix       = 'e'
	retiredPrefix    = 'h'
	flushPrefix      = 'z'
)

// formatRecord names the key layout above and the object format. Open
// refuses any other value instead of guessing.
const formatRecord = "folio-store 1"

func objectKey(id objects.ID) []byte {
	k := make([]byte, 1+objects.IDSize)
	k[0] = objectPrefix
	copy(k[1:], id[:])
	return k
}

// objectKeyPrefix is the key prefix of the objects whose ID starts with p.
func objectKeyPrefix(p []byte) []byte {
	return append([]byte{objectPrefix}, p...)
}

func idFromObjectKey(k []byte) (objects.ID, error) {
	var id objects.ID
	if len(k) != 1+objects.IDSize || k[0] != objectPrefix {
		return id, fmt.Errorf("%w: object key %x", objects.ErrCorrupt, k)
	}
	copy(id[:], k[1:])
	return id, nil
}

func refKey(name string) []byte {
	return append([]byte{refPrefix}, name...)
}

func refValue(name string, v []byte) (objects.ID, error) {
	var id objects.ID
	if len(v) != objects.IDSize {
		return id, fmt.Errorf("%w: ref %s holds %d bytes, not an ID", objects.ErrCorrupt, name, len(v))
	}
	copy(id[:], v)
	return id, nil
}
