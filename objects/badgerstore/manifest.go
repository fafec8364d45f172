package badgerstore

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

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

// A disk that lies about its syncs may keep the rename of a rewritten
// MANIFEST and lose what was written in it: its one change set unreadable,
// it lists no table, where an appended MANIFEST loses its last change sets
// only. So the rewrite keeps the MANIFEST it replaces, as a hard link
// named keptManifestPrefix + the length and CRC of the new file's change
// set, made (and the folder synced) before the rename. The next open
// (checkKeptManifest) removes it once the MANIFEST starts with that change
// set, whole; else it puts it back, if it lists more of the tables there.
// A kill at any step leaves a MANIFEST that lists every table: the old one
// until the rename, the new one after. A rewrite removes any kept copy
// before it makes one, so there is never more than one. This trusts the
// disk to keep the folder's changes in order (the link before the
// rename), as a journaling file system does.
const keptManifestPrefix = "folio-manifest-kept-"

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
// only once it is synced and replays to the same tables, and the old one
// is kept aside; a failure before leaves the old MANIFEST as it was.
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
	set, ok := firstChangeSet(tmp)
	if !ok {
		return fmt.Errorf("badgerstore: rewrite MANIFEST: %s does not start with a whole change set", tmp)
	}
	rewriteStep("checked")
	kept, err := keepManifest(dir, keptManifestPrefix+set)
	if err != nil {
		return fmt.Errorf("badgerstore: rewrite MANIFEST: %w", err)
	}
	if !kept {
		// No hard link (a file system without them): the MANIFEST is
		// left to grow, as Badger leaves it, rather than replaced with
		// nothing kept.
		os.Remove(tmp)
		return nil
	}
	rewriteStep("kept")
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("badgerstore: rewrite MANIFEST: %w", err)
	}
	rewriteStep("renamed")
	return syncDirs(dir)
}

// keepManifest links dir's MANIFEST as kept, in place of any kept copy,
// and syncs the folder; false if the link cannot be made.
func keepManifest(dir, kept string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, name := range keptManifests(entries) {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	if err := os.Link(filepath.Join(dir, badger.ManifestFilename), filepath.Join(dir, kept)); err != nil {
		return false, nil
	}
	return true, syncDirs(dir)
}

// keptManifests returns the names of the kept MANIFESTs among entries.
func keptManifests(entries []os.DirEntry) []string {
	var kept []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), keptManifestPrefix) && !e.IsDir() {
			kept = append(kept, e.Name())
		}
	}
	return kept
}

// checkKeptManifest, before Badger opens, settles a MANIFEST kept by a
// rewrite (see keptManifestPrefix): if the MANIFEST does not start with
// the change set the rewrite wrote, whole, and a kept copy lists more of
// the tables in dir, that copy becomes the MANIFEST again. Every kept copy
// is then removed. Readers may race to do this: each finds the others'
// renames and removals done, and tries nothing else.
func checkKeptManifest(dir string, entries []os.DirEntry, bopts badger.Options) error {
	kept := keptManifests(entries)
	if len(kept) == 0 {
		return nil
	}
	path := filepath.Join(dir, badger.ManifestFilename)
	if !holdsRewrite(path, kept, bopts) {
		present := map[uint64]bool{}
		for _, e := range entries {
			if id, ok := tableFileID(e.Name()); ok && !e.IsDir() {
				present[id] = true
			}
		}
		best, most := "", listedPresent(path, present, bopts)
		for _, name := range kept {
			if n := listedPresent(filepath.Join(dir, name), present, bopts); n > most {
				best, most = name, n
			}
		}
		if best != "" {
			err := os.Rename(filepath.Join(dir, best), path)
			if err != nil && !errors.Is(err, fs.ErrNotExist) { // gone: another reader put it back
				return fmt.Errorf("badgerstore: put back the MANIFEST a rewrite replaced: %w", err)
			}
			if err := syncDirs(dir); err != nil {
				return err
			}
		}
	}
	for _, name := range kept {
		// Failing to remove it (a read-only folder) only leaves it for
		// the next open.
		os.Remove(filepath.Join(dir, name))
	}
	return nil
}

// holdsRewrite says whether the MANIFEST at path replays and starts with
// the change set that one of kept names, whole.
func holdsRewrite(path string, kept []string, bopts badger.Options) bool {
	set, ok := firstChangeSet(path)
	if !ok || !slices.Contains(kept, keptManifestPrefix+set) {
		return false
	}
	_, _, err := replayManifest(path, bopts)
	return err == nil
}

// listedPresent returns how many tables the MANIFEST at path lists, or -1
// if it cannot be replayed or lists a table not in present.
func listedPresent(path string, present map[uint64]bool, bopts badger.Options) int {
	tables, _, err := replayManifest(path, bopts)
	if err != nil {
		return -1
	}
	for id := range tables {
		if !present[id] {
			return -1
		}
	}
	return len(tables)
}

// firstChangeSet returns, in hex, the length and CRC of the first change
// set of the MANIFEST at path, if that change set is whole (its CRC
// matches).
func firstChangeSet(path string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	head := make([]byte, manifestHeaderSize+8)
	if _, err := io.ReadFull(f, head); err != nil {
		return "", false
	}
	info, err := f.Stat()
	if err != nil {
		return "", false
	}
	lenCRC := head[manifestHeaderSize:]
	n := int64(binary.BigEndian.Uint32(lenCRC))
	if n > info.Size()-int64(len(head)) {
		return "", false
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(f, body); err != nil {
		return "", false
	}
	if crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)) != binary.BigEndian.Uint32(lenCRC[4:]) {
		return "", false
	}
	return hex.EncodeToString(lenCRC), true
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
