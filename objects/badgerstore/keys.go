package badgerstore

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/zeebo/blake3"

	"github.com/folio-db/folio/objects"
)

// Key layout. One byte says what a key holds, so objects, refs and the
// format record never collide, and Badger's own keys ("!badger!...") stay
// apart from all of them.
//
//	"f"          -> formatRecord
//	"o" + ID     -> the encoded object
//	"r" + name   -> the 32-byte ID the ref points at, and its check
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
// refuses any other value instead of guessing, but for the older records
// (olderFormat), whose refs may hold an ID without a check: it reads
// those, and its first writable open gives every ref its check and
// rewrites the record (a build that knows only an older one then refuses
// the store instead of taking the checks for damage). Format 1 had no
// checks; format 2 wrote them, but its upgrade of a format-1 store left
// the old refs without them; format 3 says every ref has its check.
const (
	formatRecord   = "folio-store 3"
	formatRecordV1 = "folio-store 1"
	formatRecordV2 = "folio-store 2"
)

// olderFormat says whether record is a format this build upgrades.
func olderFormat(record []byte) bool {
	return string(record) == formatRecordV1 || string(record) == formatRecordV2
}

// knownFormat says whether this build reads a store of record.
func knownFormat(record []byte) bool {
	return string(record) == formatRecord || olderFormat(record)
}

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

// refCheckSize is the size of the check a ref's value carries after the
// ID: the start of a BLAKE3 hash of the ref's name and ID. Badger does not
// check its blocks, and objects check themselves by their IDs, but a ref
// does not: a bit flipped on disk in its key renamed it ("main" read as
// "mqin", the branch empty, fsck content) and one in its value moved it.
const refCheckSize = 8

func refCheck(name string, id objects.ID) []byte {
	sum := blake3.Sum256(slices.Concat([]byte("folio ref\x00"), []byte(name), id[:]))
	return sum[:refCheckSize]
}

// encodeRef is the value of ref name pointing at id.
func encodeRef(name string, id objects.ID) []byte {
	return append(id[:len(id):len(id)], refCheck(name, id)...)
}

// refValue decodes the value v of ref name, checking it (checkRef); a
// damaged value is an objects.ErrRefDamaged naming the ref.
func refValue(name string, v []byte, v1 bool) (objects.ID, error) {
	id, d := checkRef(name, v, v1)
	if d != nil {
		return objects.ID{}, d.Err()
	}
	return id, nil
}

// checkRef decodes the value v of ref name, or says how it is damaged. A
// value of the ID alone was written by a store of formatRecordV1 (or left
// by format 2's upgrade of one), and is read where v1 says one may be
// there; a store of formatRecord gave every ref its check (upgradeFormat),
// so there it is a value cut short.
func checkRef(name string, v []byte, v1 bool) (objects.ID, *objects.DamagedRef) {
	var id objects.ID
	copy(id[:], v) // unverified until checked
	damaged := func(why string) (objects.ID, *objects.DamagedRef) {
		d := &objects.DamagedRef{Name: name, Why: why}
		if len(v) >= objects.IDSize {
			d.ID = id
		}
		return objects.ID{}, d
	}
	switch {
	case len(v) == objects.IDSize && !v1:
		return damaged("it holds an ID without its check: its value was cut short on disk")
	case len(v) == objects.IDSize:
		return id, nil
	case len(v) != objects.IDSize+refCheckSize:
		return damaged(fmt.Sprintf("it holds %d bytes, not an ID", len(v)))
	case !bytes.Equal(v[objects.IDSize:], refCheck(name, id)):
		return damaged("it does not match its check: its name or value was damaged on disk")
	}
	return id, nil
}
