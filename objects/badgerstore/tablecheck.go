package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/dgraph-io/ristretto/v2/z"
	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/proto"

	"github.com/folio-db/folio/objects"
)

// Damaged tables.
//
// Badger opens the tables its MANIFEST lists in goroutines of its own,
// reading each one's footer, index and last block (table.OpenTable). Some
// damage there (a bit flipped in the footer's lengths, or in a block's
// count of entries) makes its table package index out of range and panic,
// and a panic in those goroutines ends the process with exit code 2, which
// folio documents as bad usage, before anything can recover it. So
// checkListedTables opens each listed table first, as Badger will, in this
// goroutine: a table that cannot be opened fails Open with
// objects.ErrCorrupt naming the file. It reads what Badger's open of a
// table reads, which Badger then finds in the page cache.

// skipTableCheck, set only by a benchmark, skips checkListedTables to
// measure what it costs.
var skipTableCheck bool

// checkListedTables fails with ErrCorrupt, naming the file, if a table
// the MANIFEST lists cannot be opened.
func checkListedTables(dir string, listed map[uint64]badger.TableManifest) error {
	var buf []byte // reused: an index is tens of KB
	for id, tm := range listed {
		path := table.NewFilename(id, dir)
		if err := checkTable(path, id, tm.Compression, &buf); err != nil {
			return fmt.Errorf("%w: table file %s is damaged (%v): restore the repository from a backup, or clone it again",
				objects.ErrCorrupt, path, err)
		}
	}
	return nil
}

// checkTable checks the table file at path as Badger's Open will read
// it: its footer and index (their lengths, the index's checksum), and its
// last block. Whole ones, the usual case, cost a read of the index and of
// one block. A last block that fails its checksum may still be opened (a
// damaged object in it is Get's to report, and fsck --repair's to mend), so
// only then is the table opened as Badger does, to see whether that panics.
func checkTable(path string, id uint64, compression options.CompressionType, buf *[]byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	whole, err := lastBlockWhole(f, info.Size(), compression, buf)
	if err != nil || whole {
		return err
	}
	data, err := z.Mmap(f, false, info.Size())
	if err != nil {
		return err
	}
	defer z.Munmap(data)
	_, err = openTable(data, id, compression)
	return err
}

// A table file ends in its index, the index's length, the checksum of the
// index and the checksum's length (4 bytes each, big-endian); a block ends
// in its checksum and the checksum's length (table.Builder).

// lastBlockWhole reads the footer and index of the table in f, of size
// bytes, failing if they are damaged, and reports whether its last block
// matches its checksum. It reads into *buf, grown as needed.
func lastBlockWhole(f *os.File, size int64, compression options.CompressionType, buf *[]byte) (bool, error) {
	index, err := readIndex(f, size, buf)
	if err != nil {
		return false, err
	}
	idx := fb.GetRootAsTableIndex(index, 0)
	n := idx.OffsetsLength()
	if n == 0 {
		return true, nil
	}
	var ko fb.BlockOffset
	idx.Offsets(&ko, n-1)
	block := make([]byte, ko.Len())
	if _, err := f.ReadAt(block, int64(ko.Offset())); err != nil {
		return false, fmt.Errorf("its last block cannot be read: %w", err)
	}
	switch compression {
	case options.None:
	case options.Snappy:
		if block, err = snappy.Decode(nil, block); err != nil {
			return false, nil
		}
	default:
		return false, nil
	}
	return checksumMatches(block), nil
}

// readIndex reads and checks the index of the table in f into *buf, each
// part of the footer once the part before it was used.
func readIndex(f *os.File, size int64, buf *[]byte) ([]byte, error) {
	footer := func(what string, off, n int64) ([]byte, error) {
		if off < 0 || n < 0 || off+n > size {
			return nil, fmt.Errorf("its footer is damaged (%s of %d bytes at %d, in a file of %d)", what, n, off, size)
		}
		if int64(cap(*buf)) < n {
			*buf = make([]byte, n)
		}
		b := (*buf)[:n]
		if _, err := f.ReadAt(b, off); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := footer("checksum length", size-4, 4)
	if err != nil {
		return nil, err
	}
	sumLen := int64(binary.BigEndian.Uint32(b))
	if b, err = footer("index checksum", size-4-sumLen, sumLen); err != nil {
		return nil, err
	}
	cs := &pb.Checksum{}
	if err := proto.Unmarshal(b, cs); err != nil {
		return nil, fmt.Errorf("its index checksum is damaged: %v", err)
	}
	if b, err = footer("index length", size-8-sumLen, 4); err != nil {
		return nil, err
	}
	indexLen := int64(binary.BigEndian.Uint32(b))
	index, err := footer("index", size-8-sumLen-indexLen, indexLen)
	if err != nil {
		return nil, err
	}
	if err := y.VerifyChecksum(index, cs); err != nil {
		return nil, errors.New("its index does not match its checksum")
	}
	return index, nil
}

// checksumMatches reports whether a decompressed block matches the
// checksum it ends in.
func checksumMatches(block []byte) bool {
	if len(block) < 4 {
		return false
	}
	end := len(block) - 4
	sumLen := int(binary.BigEndian.Uint32(block[end:]))
	if sumLen > end {
		return false
	}
	cs := &pb.Checksum{}
	if err := proto.Unmarshal(block[end-sumLen:end], cs); err != nil {
		return false
	}
	return y.VerifyChecksum(block[:end-sumLen], cs) == nil
}

// openTable opens a table held in data, turning the panics of Badger's
// table package on some damage into errors.
func openTable(data []byte, id uint64, compression options.CompressionType) (t *table.Table, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, panicError(r)
		}
	}()
	return table.OpenInMemoryTable(data, id, &table.Options{
		ReadOnly:    true,
		BlockSize:   blockSize,
		Compression: compression,
	})
}

// panicError words a panic of Badger's table package: its first line,
// or what part was damaged if the panic says.
func panicError(r any) error {
	msg := fmt.Sprint(r)
	if strings.Contains(msg, "initIndex") {
		return errors.New("its footer or index is damaged")
	}
	line, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	return fmt.Errorf("the table reader failed: %s", line)
}

// panicTableID matches the table that Badger's block iterator names when
// it panics on a damaged block.
var panicTableID = regexp.MustCompile(`Table ID: (\d+)`)

// recoverDamage, deferred by Open and the methods that read, turns a
// panic of Badger's table package on a damaged block met in the caller's
// goroutine into ErrCorrupt, naming the table file when the panic says
// which. Other panics (a caller's callback) go on.
func recoverDamage(dir string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	if !strings.Contains(string(debug.Stack()), "github.com/dgraph-io/badger/v4/table.") {
		panic(r)
	}
	where := "a table file of " + dir
	if m := panicTableID.FindStringSubmatch(fmt.Sprint(r)); m != nil {
		if id, perr := strconv.ParseUint(m[1], 10, 64); perr == nil {
			where = "table file " + table.NewFilename(id, dir)
		}
	}
	*err = fmt.Errorf("%w: %s is damaged (%v): restore the repository from a backup, or clone it again",
		objects.ErrCorrupt, where, panicError(r))
}
