package transfer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"

	"github.com/folio-db/folio/objects"
)

// A sender's bookkeeping grows with what it sends: the commits to send and
// the objects sent, one ID each. So that a clone of a long history costs
// the server no more memory than a short one, each list or set keeps at
// most memIDs IDs in memory and moves the rest to a temporary file, in
// sorted runs it searches exactly (a fixed-size Bloom filter only spares
// most searches for IDs that are not there).

// memIDs is how many IDs a list or set of a transfer keeps in memory (32
// bytes each, plus a map's overhead for a set).
const memIDs = 1 << 16

const (
	blockIDs   = 128     // IDs per block of a run, read with one ReadAt
	bloomBytes = 1 << 20 // the filter in front of a set's runs, once it has any
)

// spillFile is a temporary file written only at its end, made on the
// first write and deleted on close (unlinked at once where the system
// allows).
type spillFile struct {
	f      *os.File
	size   int64
	memIDs int // what each list and set using the file keeps in memory
}

func (s *spillFile) append(b []byte) (int64, error) {
	if s.f == nil {
		f, err := os.CreateTemp("", "folio-send-*")
		if err != nil {
			return 0, fmt.Errorf("a temporary file for a large transfer: %w", err)
		}
		os.Remove(f.Name())
		s.f = f
	}
	off := s.size
	if _, err := s.f.WriteAt(b, off); err != nil {
		return 0, fmt.Errorf("a temporary file for a large transfer: %w", err)
	}
	s.size += int64(len(b))
	return off, nil
}

func (s *spillFile) readAt(b []byte, off int64) error {
	if _, err := s.f.ReadAt(b, off); err != nil {
		return fmt.Errorf("a temporary file for a large transfer: %w", err)
	}
	return nil
}

func (s *spillFile) close() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
	}
}

// idList is a list of IDs read back last first.
type idList struct {
	file   *spillFile
	mem    []objects.ID
	blocks []int64 // offsets of the spilled blocks of file.memIDs IDs, in order
}

func (l *idList) len() int { return len(l.blocks)*l.file.memIDs + len(l.mem) }

func (l *idList) push(id objects.ID) error {
	l.mem = append(l.mem, id)
	if len(l.mem) < l.file.memIDs {
		return nil
	}
	off, err := l.file.append(idBytes(l.mem))
	if err != nil {
		return err
	}
	l.blocks, l.mem = append(l.blocks, off), l.mem[:0]
	return nil
}

// backward calls fn with each ID, the last pushed first.
func (l *idList) backward(fn func(objects.ID) error) error {
	for i := len(l.mem) - 1; i >= 0; i-- {
		if err := fn(l.mem[i]); err != nil {
			return err
		}
	}
	if len(l.blocks) == 0 {
		return nil
	}
	n := l.file.memIDs
	buf := make([]byte, n*objects.IDSize)
	for b := len(l.blocks) - 1; b >= 0; b-- {
		if err := l.file.readAt(buf, l.blocks[b]); err != nil {
			return err
		}
		for i := n - 1; i >= 0; i-- {
			if err := fn(objects.ID(buf[i*objects.IDSize:])); err != nil {
				return err
			}
		}
	}
	return nil
}

func idBytes(ids []objects.ID) []byte {
	buf := make([]byte, 0, len(ids)*objects.IDSize)
	for _, id := range ids {
		buf = append(buf, id[:]...)
	}
	return buf
}

// idSet is an exact set of IDs.
type idSet struct {
	file    *spillFile
	mem     map[objects.ID]struct{}
	bloom   []uint64 // nil until the first run
	runs    []idRun
	scratch []byte
}

// idRun is a sorted run of IDs in the file, with the first ID of each
// block of blockIDs.
type idRun struct {
	off    int64
	n      int
	firsts []objects.ID
}

func newIDSet(file *spillFile) *idSet {
	return &idSet{file: file, mem: map[objects.ID]struct{}{}}
}

func (s *idSet) has(id objects.ID) (bool, error) {
	if _, ok := s.mem[id]; ok {
		return true, nil
	}
	if s.bloom == nil || !s.maybe(id) {
		return false, nil
	}
	for i := range s.runs {
		if ok, err := s.inRun(&s.runs[i], id); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// add adds an ID (adding one twice is allowed, and wastes a little).
func (s *idSet) add(id objects.ID) error {
	if s.mem[id] = struct{}{}; len(s.mem) < s.file.memIDs {
		return nil
	}
	ids := slices.SortedFunc(maps.Keys(s.mem), objects.ID.Compare)
	clear(s.mem)
	if s.bloom == nil {
		s.bloom = make([]uint64, bloomBytes/8)
	}
	r := idRun{n: len(ids)}
	for i, id := range ids {
		if i%blockIDs == 0 {
			r.firsts = append(r.firsts, id)
		}
		for _, bit := range bloomBits(id) {
			s.bloom[bit/64] |= 1 << (bit % 64)
		}
	}
	var err error
	if r.off, err = s.file.append(idBytes(ids)); err != nil {
		return err
	}
	s.runs = append(s.runs, r)
	return nil
}

// bloomBits are the filter's bits for an ID: IDs are hashes, so four of
// its words are four independent hashes.
func bloomBits(id objects.ID) [4]uint32 {
	var bits [4]uint32
	for i := range bits {
		bits[i] = binary.LittleEndian.Uint32(id[4*i:]) % (bloomBytes * 8)
	}
	return bits
}

func (s *idSet) maybe(id objects.ID) bool {
	for _, bit := range bloomBits(id) {
		if s.bloom[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

func (s *idSet) inRun(r *idRun, id objects.ID) (bool, error) {
	b := sort.Search(len(r.firsts), func(i int) bool { return r.firsts[i].Compare(id) > 0 }) - 1
	if b < 0 {
		return false, nil
	}
	n := min(blockIDs, r.n-b*blockIDs)
	if cap(s.scratch) < blockIDs*objects.IDSize {
		s.scratch = make([]byte, blockIDs*objects.IDSize)
	}
	buf := s.scratch[:n*objects.IDSize]
	if err := s.file.readAt(buf, r.off+int64(b*blockIDs*objects.IDSize)); err != nil {
		return false, err
	}
	i := sort.Search(n, func(i int) bool { return bytes.Compare(buf[i*objects.IDSize:(i+1)*objects.IDSize], id[:]) >= 0 })
	return i < n && bytes.Equal(buf[i*objects.IDSize:(i+1)*objects.IDSize], id[:]), nil
}
