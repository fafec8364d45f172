package badgerstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/proto"
)

// Badger appends a change set to its MANIFEST for every table it adds or
// drops, and rewrites the file only after 10,000 deletions. A short
// session adds a level-0 table and a merge session drops them, so a
// repository used one command at a time grows its MANIFEST by ~30 bytes a
// command, and every open replays it twice (setAsideUnlisted, then
// Badger), at ~4 us a change set: 3 ms a replay at 23 KB (750 commands),
// ~40 ms by the time Badger would rewrite it. Close rewrites it instead,
// once it passes manifestRewriteAt, as one change set that creates the
// tables it lists: what Badger's own rewrite writes.

// manifestRewriteAt is the MANIFEST size above which Close rewrites it:
// ~1 ms of replay. The rewritten file takes ~10 bytes a table (~400
// bytes after an import of 100,000 documents). A variable for tests.
var manifestRewriteAt int64 = 8 << 10

// manifestRewriteName is the file a rewrite is written to, synced and
// checked in, before it replaces the MANIFEST. One left by a crash is
// overwritten by the next rewrite; Badger ignores it.
const manifestRewriteName = "folio-manifest-rewrite"

// manifestRewriteStep, when a test sets it, is told each step of a
// rewrite as it is reached: its crash tests kill a process there.
var manifestRewriteStep func(step string)

func rewriteStep(step string) {
	if manifestRewriteStep != nil {
		manifestRewriteStep(step)
	}
}

// manifestHeaderSize: Badger's magic text, external and own versions.
const manifestHeaderSize = 8

// compactManifest rewrites dir's MANIFEST when it is larger than
// manifestRewriteAt. Badger must be closed, and the store's exclusive
// lock held. The new file keeps the old one's header (which the replay
// checked against this Badger's version), and replaces it by a rename
// only once it is synced and replays to the same tables; a failure
// before leaves the old MANIFEST as it was.
func compactManifest(dir string, bopts badger.Options) error {
	path := filepath.Join(dir, badger.ManifestFilename)
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil || info.Size() <= manifestRewriteAt {
		return err
	}
	tables, header, err := replayManifest(path, bopts)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, manifestRewriteName)
	rewriteStep("replayed")
	if err := writeManifest(tmp, header, tables); err != nil {
		return fmt.Errorf("badgerstore: rewrite MANIFEST: %w", err)
	}
	again, _, err := replayManifest(tmp, bopts)
	if err != nil {
		return fmt.Errorf("badgerstore: rewrite MANIFEST: %w", err)
	}
	if !maps.Equal(again, tables) {
		return fmt.Errorf("badgerstore: rewrite MANIFEST: %s lists %d tables, the MANIFEST %d", tmp, len(again), len(tables))
	}
	rewriteStep("checked")
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("badgerstore: rewrite MANIFEST: %w", err)
	}
	rewriteStep("renamed")
	return syncDirs(dir)
}

// replayManifest returns the tables the MANIFEST file at path lists, and
// its header. A file Badger cannot replay is errUnreplayable.
func replayManifest(path string, bopts badger.Options) (map[uint64]badger.TableManifest, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("badgerstore: %w", err)
	}
	defer f.Close()
	m, _, err := badger.ReplayManifestFile(f, bopts.ExternalMagicVersion, bopts)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s cannot be read (%v)", errUnreplayable, path, err)
	}
	header := make([]byte, manifestHeaderSize)
	if _, err := f.ReadAt(header, 0); err != nil {
		return nil, nil, fmt.Errorf("badgerstore: %s: %w", path, err)
	}
	return m.Tables, header, nil
}

// errUnreplayable: Badger could not replay a MANIFEST file.
var errUnreplayable = errors.New("badgerstore: MANIFEST")

// writeManifest writes and syncs a MANIFEST of one change set that
// creates tables, in the layout Badger reads: header, then the change
// set's length and CRC-32C (big-endian), then the change set.
func writeManifest(path string, header []byte, tables map[uint64]badger.TableManifest) error {
	var set pb.ManifestChangeSet
	for _, id := range slices.Sorted(maps.Keys(tables)) {
		t := tables[id]
		set.Changes = append(set.Changes, &pb.ManifestChange{
			Id:             id,
			Op:             pb.ManifestChange_CREATE,
			Level:          uint32(t.Level),
			KeyId:          t.KeyID,
			EncryptionAlgo: pb.EncryptionAlgo_aes, // as Badger writes it, encrypted or not
			Compression:    uint32(t.Compression),
		})
	}
	body, err := proto.Marshal(&set)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.Write(header)
	buf.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body))))
	buf.Write(binary.BigEndian.AppendUint32(nil, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli))))
	buf.Write(body)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	half := buf.Len() / 2
	if _, err := io.CopyN(f, &buf, int64(half)); err != nil {
		f.Close()
		return err
	}
	rewriteStep("half-written")
	if _, err := io.Copy(f, &buf); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
