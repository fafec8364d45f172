package jsonmerge

// object merges two objects key by key and writes the result in ours'
// order, with theirs' new keys placed after their nearest preceding
// neighbour in theirs (see objectEntries).
func (m *merger) object(b, o, t int32, path string) {
	f := m.openFrame(o)
	first := m.ours.nodes[o].first
	for _, e := range m.objectEntries(b, o, t) {
		bv := int32(-1)
		if e.b >= 0 {
			bv = m.base.members[e.b].val
		}
		switch {
		case e.o >= 0 && e.t >= 0:
			om, tm := &m.ours.members[e.o], &m.theirs.members[e.t]
			if m.pick == pickBase && bv < 0 && m.conflictsHere(bv, om.val, tm.val) {
				m.conflict(keyPath(path, om), bv, om.val, tm.val)
				continue // base has no such key: leave it out
			}
			f.member(int(e.o - first))
			m.out = append(m.out, m.ours.head(om)...)
			if m.keepsOurs(bv, om.val, tm.val) {
				m.keep(bv, om.val, tm.val)
			} else {
				m.value(bv, om.val, tm.val, keyPath(path, om))
			}
		case e.o >= 0: // theirs has no such key
			om := &m.ours.members[e.o]
			if bv >= 0 {
				if m.base.digests[bv] == m.ours.digests[om.val] {
					continue // theirs deleted it, ours left it alone
				}
				m.conflict(keyPath(path, om), bv, om.val, -1)
				if m.pick == pickTheirs {
					continue
				}
				if m.pick == pickBase {
					m.otherMember(&f, m.base, &m.base.members[e.b])
					continue
				}
			}
			f.member(int(e.o - first))
			m.out = append(m.out, m.ours.head(om)...)
			m.writeOurs(om.val)
		default: // ours has no such key
			tm := &m.theirs.members[e.t]
			if bv >= 0 {
				if m.base.digests[bv] == m.theirs.digests[tm.val] {
					continue // ours deleted it, theirs left it alone
				}
				m.conflict(keyPath(path, tm), bv, -1, tm.val)
				switch m.pick {
				case pickOurs:
					continue
				case pickBase:
					m.otherMember(&f, m.base, &m.base.members[e.b])
					continue
				}
			}
			m.otherMember(&f, m.theirs, tm)
		}
	}
	f.close()
}

// otherMember writes a member of theirs or base that ours does not have.
func (m *merger) otherMember(f *frame, d *document, mb *member) {
	f.member(-1)
	m.out = append(m.out, d.src[mb.keyLo:mb.keyHi]...)
	m.out = append(m.out, m.style.colon...)
	m.writeOther(d, mb.val)
}

// entry is one key of a merged object: its member index in each document
// (-1 where the key is absent). Keys only base has are left out: both
// sides deleted them.
type entry struct{ o, t, b int32 }

// objectEntries lists the keys of ours and theirs in output order: ours'
// keys in ours' order; a key only theirs has goes right after the nearest
// key before it in theirs that ours has too, or, if there is none, right
// before the first such key after it, or, if theirs shares no key with
// ours, at the end. Keys that land in the same place keep theirs' order.
func (m *merger) objectEntries(b, o, t int32) []entry {
	ours, theirs := m.ours.kids(o), m.theirs.kids(t)
	oursFirst, theirsFirst := m.ours.nodes[o].first, m.theirs.nodes[t].first
	oursIdx, theirsIdx := newKeyIndex(ours), newKeyIndex(theirs)
	var baseIdx keyIndex
	baseFirst := int32(0)
	if b >= 0 {
		baseIdx, baseFirst = newKeyIndex(m.base.kids(b)), m.base.nodes[b].first
	}
	abs := func(first, i int32) int32 {
		if i < 0 {
			return -1
		}
		return first + i
	}

	// slots[p] holds theirs' new keys that go before ours' key p.
	var slots [][]int32
	place := func(p int, keys ...int32) {
		if slots == nil {
			slots = make([][]int32, len(ours)+1)
		}
		slots[p] = append(slots[p], keys...)
	}
	anchor := -1
	var lead []int32
	added := 0
	for k := range theirs {
		if p := oursIdx.find(theirs[k].key); p >= 0 {
			if anchor < 0 && len(lead) > 0 {
				place(int(p), lead...)
				lead = nil
			}
			anchor = int(p) + 1
			continue
		}
		added++
		if anchor < 0 {
			lead = append(lead, int32(k))
		} else {
			place(anchor, int32(k))
		}
	}
	if len(lead) > 0 {
		place(len(ours), lead...)
	}

	entries := make([]entry, 0, len(ours)+added)
	fromSlot := func(p int) {
		if slots == nil {
			return
		}
		for _, k := range slots[p] {
			entries = append(entries, entry{o: -1, t: theirsFirst + k, b: abs(baseFirst, baseIdx.find(theirs[k].key))})
		}
	}
	for p := range ours {
		fromSlot(p)
		key := ours[p].key
		entries = append(entries, entry{o: oursFirst + int32(p), t: abs(theirsFirst, theirsIdx.find(key)), b: abs(baseFirst, baseIdx.find(key))})
	}
	fromSlot(len(ours))
	return entries
}

// keyIndex finds members by key: by scanning small objects, through a
// map for large ones.
type keyIndex struct {
	kids  []member
	byKey map[string]int32
}

const keyIndexScanMax = 16

func newKeyIndex(kids []member) keyIndex {
	x := keyIndex{kids: kids}
	if len(kids) > keyIndexScanMax {
		x.byKey = make(map[string]int32, len(kids))
		for i := range kids {
			x.byKey[kids[i].key] = int32(i)
		}
	}
	return x
}

// find returns the index of the member with this key, or -1.
func (x keyIndex) find(key string) int32 {
	if x.byKey != nil {
		if i, ok := x.byKey[key]; ok {
			return i
		}
		return -1
	}
	for i := range x.kids {
		if x.kids[i].key == key {
			return int32(i)
		}
	}
	return -1
}
