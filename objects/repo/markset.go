package repo

import (
	"hash/maphash"
	"math/bits"

	"github.com/folio-db/folio/objects"
)

// markSet is the set of IDs a gc has marked: an open-addressing hash
// table of whole IDs (exact: a false "marked" would lose an object), 32
// bytes a slot and at most 3/4 full, so about 43 bytes an ID: 44 MB for a
// million objects, where a Go map takes about twice that. The zero ID
// marks an empty slot; it is never an object's ID. Slots are picked by a
// seeded hash, so crafted IDs cannot pile up on one slot.
type markSet struct {
	slots []objects.ID
	n     int
	seed  maphash.Seed
}

// newMarkSet sizes a set for about n IDs.
func newMarkSet(n int) *markSet {
	return &markSet{slots: make([]objects.ID, max(64, n+n/3)), seed: maphash.MakeSeed()}
}

// slot returns where id is, or the empty slot where it would go.
func (m *markSet) slot(id objects.ID) int {
	h := maphash.Bytes(m.seed, id[:])
	i, _ := bits.Mul64(h, uint64(len(m.slots))) // h scaled to [0, len)
	for {
		if s := m.slots[i]; s == id || s.IsZero() {
			return int(i)
		}
		if i++; i == uint64(len(m.slots)) {
			i = 0
		}
	}
}

// Has reports whether id is marked.
func (m *markSet) Has(id objects.ID) bool { return !id.IsZero() && m.slots[m.slot(id)] == id }

// Add marks id and reports whether it was new.
func (m *markSet) Add(id objects.ID) bool {
	if id.IsZero() {
		return false
	}
	i := m.slot(id)
	if m.slots[i] == id {
		return false
	}
	m.slots[i] = id
	m.n++
	if m.n > len(m.slots)*3/4 {
		m.grow()
	}
	return true
}

// Len is the number of marked IDs.
func (m *markSet) Len() int { return m.n }

func (m *markSet) grow() {
	old := m.slots
	m.slots = make([]objects.ID, 2*len(old))
	for _, id := range old {
		if !id.IsZero() {
			m.slots[m.slot(id)] = id
		}
	}
}
