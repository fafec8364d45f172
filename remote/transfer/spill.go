package transfer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
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
// sorted runs it searches exactly (a Bloom filter sized for the IDs
// spilled spares most searches for IDs that are not there).

// memIDs is how many IDs a list or set of a transfer keeps in memory (32
// bytes each, plus a map's overhead for a set).
const memIDs = 1 << 16

const (
	blockIDs = 128 // IDs per block of a run, read with one ReadAt
	// The filter in front of a set's runs has bloomBitsPerID bits for each
	// ID spilled, and bloomHashes bits set by each: about 1% of the IDs
	// not in the set get past it. It doubles as the runs grow, up to
	// bloomMaxBytes (enough for 6.7M IDs at 1%; past that more get past).
	bloomBitsPerID = 10
	bloomHashes    = 7
	bloomMaxBytes  = 8 << 20
)

// spill makes the temporary files of a transfer, and removes them all at
// its end.
type spill struct {
	memIDs int // what each list and set keeps in memory
	files  []*spillFile
	// runLookups counts the look-ups in its sets that got past their
	// filters to the runs on disk.
	runLookups int
}

func (sp *spill) newFile() *spillFile {
	f := &spillFile{}
	sp.files = append(sp.files, f)
	return f
}

func (sp *spill) close() {
	for _, f := range sp.files {
		f.close()
	}
}

// spillFile is a temporary file written only at its end, made on the
// first write and deleted on close (unlinked at once where the system
// allows).
type spillFile struct {
	f    *os.File
	size int64
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
		s.f = nil
	}
}

// idList is a list of IDs read back last first.
type idList struct {
	sp     *spill
	file   *spillFile
	mem    []objects.ID
	blocks []int64 // offsets of the spilled blocks of sp.memIDs IDs, in order
}

func newIDList(sp *spill) *idList { return &idList{sp: sp, file: sp.newFile()} }

func (l *idList) len() int { return len(l.blocks)*l.sp.memIDs + len(l.mem) }

func (l *idList) push(id objects.ID) error {
	l.mem = append(l.mem, id)
	if len(l.mem) < l.sp.memIDs {
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
	n := l.sp.memIDs
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

// idSet is an exact set of IDs: those added last in a map, the others in
// sorted runs, each a temporary file, merged two of the same size into
// one (so there are at most log2(IDs/memIDs)+1 runs to search).
type idSet struct {
	sp      *spill
	mem     map[objects.ID]struct{}
	bloom   []uint64 // nil until the first run; a power of two of bits
	spilled int      // IDs written to runs (one added twice may count twice)
	runs    []idRun
	scratch []byte
}

// idRun is a sorted run of IDs in a file, with the first ID of each
// block of blockIDs.
type idRun struct {
	file   *spillFile
	n      int
	firsts []objects.ID
}

func newIDSet(sp *spill) *idSet {
	return &idSet{sp: sp, mem: map[objects.ID]struct{}{}}
}

func (s *idSet) has(id objects.ID) (bool, error) {
	if _, ok := s.mem[id]; ok {
		return true, nil
	}
	if s.bloom == nil || !s.maybe(id) {
		return false, nil
	}
	s.sp.runLookups++
	for i := range s.runs {
		if ok, err := s.inRun(&s.runs[i], id); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// add adds an ID (adding one twice is allowed).
func (s *idSet) add(id objects.ID) error {
	if s.mem[id] = struct{}{}; len(s.mem) < s.sp.memIDs {
		return nil
	}
	return s.spillMem()
}

// seal readies a set that is only read from then on: one that has runs
// already moves what it holds in memory to another, and drops its map,
// which keeps the room of memIDs IDs once it has held them.
func (s *idSet) seal() error {
	if len(s.runs) == 0 {
		return nil
	}
	if len(s.mem) > 0 {
		if err := s.spillMem(); err != nil {
			return err
		}
	}
	s.mem = map[objects.ID]struct{}{}
	return nil
}

// spillMem writes the IDs in memory to a new run, and merges the last
// runs while the one before is no larger.
func (s *idSet) spillMem() error {
	ids := slices.SortedFunc(maps.Keys(s.mem), objects.ID.Compare)
	clear(s.mem)
	r, err := s.writeRun(slices.Values(ids))
	if err != nil {
		return err
	}
	s.runs = append(s.runs, r)
	s.spilled += len(ids)
	if err := s.fillBloom(ids); err != nil {
		return err
	}
	for k := len(s.runs); k >= 2 && s.runs[k-2].n <= s.runs[k-1].n; k = len(s.runs) {
		var rerr error
		a, b := s.runs[k-2], s.runs[k-1]
		r, err := s.writeRun(mergeIDs(a.ids(&rerr), b.ids(&rerr)))
		if err = errors.Join(err, rerr); err != nil {
			return err
		}
		a.file.close()
		b.file.close()
		s.runs = append(s.runs[:k-2], r)
	}
	return nil
}

// sorted reads the set's IDs in ascending order (one added twice may come
// twice); a read error stops it and is set in *err.
func (s *idSet) sorted(err *error) iter.Seq[objects.ID] {
	all := slices.Values(slices.SortedFunc(maps.Keys(s.mem), objects.ID.Compare))
	for i := range s.runs {
		all = mergeIDs(all, s.runs[i].ids(err))
	}
	return all
}

// close drops the set's runs, and their files.
func (s *idSet) close() {
	for _, r := range s.runs {
		r.file.close()
	}
	s.runs, s.bloom, s.spilled = nil, nil, 0
}

// writeRun writes IDs in ascending order, once each, to a new run.
func (s *idSet) writeRun(ids iter.Seq[objects.ID]) (idRun, error) {
	r := idRun{file: s.sp.newFile()}
	buf := make([]byte, 0, 64<<10)
	var last objects.ID
	for id := range ids {
		if r.n > 0 && id == last {
			continue
		}
		if r.n%blockIDs == 0 {
			r.firsts = append(r.firsts, id)
		}
		r.n++
		last = id
		if buf = append(buf, id[:]...); len(buf) == cap(buf) {
			if _, err := r.file.append(buf); err != nil {
				return r, err
			}
			buf = buf[:0]
		}
	}
	_, err := r.file.append(buf)
	return r, err
}

// ids reads a run's IDs in order; a read error stops it and is set in
// *err.
func (r *idRun) ids(err *error) iter.Seq[objects.ID] {
	return func(yield func(objects.ID) bool) {
		br := bufio.NewReaderSize(io.NewSectionReader(r.file.f, 0, r.file.size), 64<<10)
		var id objects.ID
		for range r.n {
			if _, e := io.ReadFull(br, id[:]); e != nil {
				*err = fmt.Errorf("a temporary file for a large transfer: %w", e)
				return
			}
			if !yield(id) {
				return
			}
		}
	}
}

// mergeIDs merges two ascending sequences.
func mergeIDs(a, b iter.Seq[objects.ID]) iter.Seq[objects.ID] {
	return func(yield func(objects.ID) bool) {
		nextA, stopA := iter.Pull(a)
		defer stopA()
		nextB, stopB := iter.Pull(b)
		defer stopB()
		x, okX := nextA()
		y, okY := nextB()
		for okX || okY {
			if okX && (!okY || x.Compare(y) <= 0) {
				if !yield(x) {
					return
				}
				x, okX = nextA()
			} else {
				if !yield(y) {
					return
				}
				y, okY = nextB()
			}
		}
	}
}

// fillBloom adds the IDs of a new run to the filter, or, when the IDs
// spilled outgrow it, builds it again larger (up to bloomMaxBytes) from
// all the runs. Each rebuild reads the runs once, and the IDs double
// between rebuilds, so the reading adds up to about twice the IDs
// spilled.
func (s *idSet) fillBloom(ids []objects.ID) error {
	bytes := bloomSize(s.spilled)
	if len(s.bloom)*8 >= bytes {
		s.setBloom(slices.Values(ids))
		return nil
	}
	s.bloom = make([]uint64, bytes/8)
	for i := range s.runs {
		var err error
		if s.setBloom(s.runs[i].ids(&err)); err != nil {
			return err
		}
	}
	return nil
}

// bloomSize is the filter's size in bytes for n IDs: the least power of
// two with bloomBitsPerID bits for each, up to bloomMaxBytes. So a filter
// built again has 10 to 20 bits for each ID, and is built again when
// they have doubled.
func bloomSize(n int) int {
	bytes := 8
	for bytes < bloomMaxBytes && bytes*8 < n*bloomBitsPerID {
		bytes *= 2
	}
	return bytes
}

func (s *idSet) setBloom(ids iter.Seq[objects.ID]) {
	mask := uint32(len(s.bloom)*64 - 1)
	for id := range ids {
		for _, bit := range bloomBits(id) {
			bit &= mask
			s.bloom[bit/64] |= 1 << (bit % 64)
		}
	}
}

// bloomBits are the filter's bits for an ID, before they are cut to its
// size: IDs are hashes, so their words are independent hashes.
func bloomBits(id objects.ID) [bloomHashes]uint32 {
	var bits [bloomHashes]uint32
	for i := range bits {
		bits[i] = binary.LittleEndian.Uint32(id[4*i:])
	}
	return bits
}

func (s *idSet) maybe(id objects.ID) bool {
	mask := uint32(len(s.bloom)*64 - 1)
	for _, bit := range bloomBits(id) {
		bit &= mask
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
	if err := r.file.readAt(buf, int64(b*blockIDs*objects.IDSize)); err != nil {
		return false, err
	}
	i := sort.Search(n, func(i int) bool { return bytes.Compare(buf[i*objects.IDSize:(i+1)*objects.IDSize], id[:]) >= 0 })
	return i < n && bytes.Equal(buf[i*objects.IDSize:(i+1)*objects.IDSize], id[:]), nil
}
