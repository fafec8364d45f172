package objects_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// sample is one fixed object built from fixed inputs. The samples are the
// golden vectors (testdata/golden/objects.txtar), the round-trip cases and
// the fuzz seeds, so every test exercises the same pinned encodings.
type sample struct {
	name  string // also the section name in the golden file
	desc  string // what the object is, for a reader of the golden file
	value any    // []byte (blob content), *Node, *Commit, *Conflict, *WorkingSet, *Chunked
}

// encodeValue encodes any object value the way its type's Encode does.
func encodeValue(t testing.TB, v any) objects.Object {
	t.Helper()
	switch v := v.(type) {
	case []byte:
		return objects.EncodeBlob(v)
	case *objects.Node:
		return v.Encode()
	case *objects.Commit:
		return v.Encode()
	case *objects.Conflict:
		return v.Encode()
	case *objects.WorkingSet:
		return v.Encode()
	case *objects.Chunked:
		return v.Encode()
	}
	t.Fatalf("encodeValue: unexpected %T", v)
	return objects.Object{}
}

// blobID is the ID of a blob with the given content.
func blobID(content string) objects.ID { return objects.EncodeBlob([]byte(content)).ID }

// fakeID is a recognisable non-zero ID for fields whose target does not
// matter: every byte is b.
func fakeID(b byte) objects.ID {
	var id objects.ID
	for i := range id {
		id[i] = b
	}
	return id
}

var (
	helloText  = "hello, folio\n"
	helloJSON  = `{"name":"folio","tags":["a","b"]}`
	helloBytes = "\x00\x01\x02\xff"
)

// samples returns the fixed objects, built only from constants so that their
// encodings and IDs never change unless the format does.
func samples() []sample {
	leaf := &objects.Node{Level: 0, Items: []objects.NodeItem{
		{Key: "config.json", Entry: objects.Entry{ID: blobID(helloJSON), Kind: objects.KindJSON, Size: uint64(len(helloJSON))}},
		{Key: "docs/hello.txt", Entry: objects.Entry{ID: blobID(helloText), Kind: objects.KindText, Size: uint64(len(helloText))}},
		{Key: "docs/images/logo.png", Entry: objects.Entry{ID: blobID(helloBytes), Kind: objects.KindBinary, Size: uint64(len(helloBytes))}},
		{Key: "документы/заметка 1.txt", Entry: objects.Entry{ID: blobID(helloText), Kind: objects.KindText, Size: 300}},
	}}
	leafID := leaf.Encode().ID
	leaf2 := &objects.Node{Level: 0, Items: []objects.NodeItem{
		{Key: "😀/zeta", Entry: objects.Entry{ID: blobID(helloText), Kind: objects.KindText, Size: uint64(len(helloText))}},
	}}
	internal := &objects.Node{Level: 1, Items: []objects.NodeItem{
		{Key: "документы/заметка 1.txt", Entry: objects.Entry{ID: leafID, Size: 4}},
		{Key: "😀/zeta", Entry: objects.Entry{ID: leaf2.Encode().ID, Size: 1}},
	}}
	conflictsLeaf := &objects.Node{Level: 0, Items: []objects.NodeItem{
		{Key: "docs/hello.txt", Entry: objects.Entry{ID: fakeID(0xc1), Kind: objects.KindConflict}},
	}}

	root := &objects.Commit{
		Index:  leafID,
		Height: 1,
		Author: objects.Signature{Name: "Ada Lovelace", Email: "ada@example.org"},
		Time:   time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		// The leader's clock was 3 s ahead of the author date.
		CommitTime: time.Date(2024, 3, 1, 12, 0, 3, 0, time.UTC),
		// A message with a trailing newline and a second paragraph.
		Message: "initial import\n\nwith two paragraphs\n",
	}
	rootID := root.Encode().ID
	child := &objects.Commit{
		Index:   internal.Encode().ID,
		Parents: []objects.ID{rootID},
		Height:  2,
		Author:  objects.Signature{Name: "Grace Hopper", Email: "grace@example.org"},
		Time:    time.Date(2024, 3, 2, 9, 30, 15, 123456789, time.FixedZone("IST", 5*3600+30*60)),
		// An author date set in 2099: the commit time stays the clock's.
		CommitTime: time.Date(2024, 3, 2, 4, 0, 15, 123456790, time.UTC),
		Message:    "edit hello",
	}
	childID := child.Encode().ID
	side := &objects.Commit{
		Index:   leafID,
		Parents: []objects.ID{rootID},
		Height:  2,
		Author:  objects.Signature{Name: "Édouard Lucas", Email: "lucas@example.fr"},
		Time:    time.Date(2024, 3, 2, 8, 0, 0, 1, time.FixedZone("NST", -(3*3600+30*60))),
		// One logical tick past its parent's commit time: the clock was behind.
		CommitTime: time.Date(2024, 3, 1, 12, 0, 3, 1, time.UTC),
		Message:    "side branch",
	}
	merge := &objects.Commit{
		Index:     internal.Encode().ID,
		Conflicts: conflictsLeaf.Encode().ID,
		Parents:   []objects.ID{childID, side.Encode().ID},
		Height:    3,
		Author:    objects.Signature{Name: "folio", Email: "merge@folio"},
		Time:      time.Date(2024, 3, 2, 9, 30, 15, 123456789, time.FixedZone("EST", -5*3600)),
		// A converging merge: the later parent's commit time.
		CommitTime: time.Date(2024, 3, 2, 4, 0, 15, 123456790, time.UTC),
		Message:    "merge",
	}
	historic := &objects.Commit{
		Height: 1,
		// Before 1970 (negative Unix seconds) with nanoseconds, at the
		// Amsterdam mean time offset +00:19:32: a zone offset that is not
		// a whole number of minutes.
		Time:       time.Date(1935, 6, 1, 0, 0, 0, 500000000, time.FixedZone("AMT", 19*60+32)),
		CommitTime: time.Date(1935, 5, 31, 23, 40, 28, 500000000, time.UTC),
		Message:    "",
	}
	extremeZones := &objects.Commit{
		Height: 1,
		Author: objects.Signature{Name: "edge", Email: "edge@example.org"},
		// The largest offset the decoder accepts: one second short of a day.
		Time:       time.Date(2000, 1, 1, 0, 0, 0, 999999999, time.FixedZone("", -(24*3600-1))),
		CommitTime: time.Date(2000, 1, 1, 23, 59, 59, 999999999, time.UTC),
	}
	committed := *child
	committed.Committer = objects.Signature{Name: "ci-writer", Email: "api@folio.invalid"}
	legacy := &objects.Commit{
		Legacy: true,
		Index:  leafID,
		Height: 1,
		Author: objects.Signature{Name: "Ada Lovelace", Email: "ada@example.org"},
		Time:   time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		// Format 1 has no commit time: it reads as the author date.
		CommitTime: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		Message:    "initial import\n\nwith two paragraphs\n",
	}

	return []sample{
		{"blob/empty", "a blob with no content", []byte{}},
		{"blob/text", "a blob holding the text " + fmt.Sprintf("%q", helloText), []byte(helloText)},
		{"blob/json", "a blob holding the JSON " + helloJSON, []byte(helloJSON)},
		{"blob/binary", "a blob holding the bytes " + fmt.Sprintf("%q", helloBytes), []byte(helloBytes)},
		{"chunked/two", "a 10-byte document in chunks of 6 and 4 bytes", &objects.Chunked{Size: 10, Chunks: []objects.ChunkRef{
			{ID: blobID("hello,"), Size: 6}, {ID: blobID(" fol"), Size: 4},
		}}},
		{"chunked/single", "a 3-byte document in one chunk", &objects.Chunked{Size: 3, Chunks: []objects.ChunkRef{
			{ID: blobID("abc"), Size: 3},
		}}},
		{"chunked/large", "a 5 GiB document in three chunks (sizes need multi-byte varints)", &objects.Chunked{Size: 5 << 30, Chunks: []objects.ChunkRef{
			{ID: fakeID(0x01), Size: 4 << 30}, {ID: fakeID(0x02), Size: 1<<30 - 128}, {ID: fakeID(0x03), Size: 128},
		}}},
		{"node/leaf", "an index leaf: JSON, text and binary documents, a Cyrillic key with a space", leaf},
		{"node/leaf-single", "an index leaf with one item", leaf2},
		{"node/internal", "a level-1 node over node/leaf and node/leaf-single, with leaf counts", internal},
		{"node/conflicts", "a conflicts-map leaf: one key pointing at a conflict record", conflictsLeaf},
		{"commit/root", "a root commit (no parents, height 1) at 2024-03-01 12:00:00 UTC", root},
		{"commit/child", "a child of commit/root, height 2, at +05:30 with nanoseconds", child},
		{"commit/side", "a second child of commit/root, at -03:30 and 1 ns", side},
		{"commit/merge", "a merge of commit/child and commit/side with a conflicts root, at -05:00", merge},
		{"commit/historic", "a root commit in 1935 (negative Unix time) + 0.5 s at +00:19:32, empty author and message", historic},
		{"commit/extreme-zone", "a root commit at offset -23:59:59, the most negative offset allowed", extremeZones},
		{"commit/committed", "commit/child in commit format 3: written by the token ci-writer for its author", &committed},
		{"commit/legacy-v1", "commit/root in commit format 1 (no commit time): the golden commit/root before format 2, same ID", legacy},
		{"conflict/modify-modify", "both sides changed docs/hello.txt; ours won; two line ranges", &objects.Conflict{
			Key:          "docs/hello.txt",
			Base:         objects.Entry{ID: blobID(helloText), Kind: objects.KindText, Size: uint64(len(helloText))},
			Ours:         objects.Entry{ID: blobID("hello, ours\n"), Kind: objects.KindText, Size: 12},
			Theirs:       objects.Entry{ID: blobID("hello, theirs\n"), Kind: objects.KindText, Size: 14},
			OursCommit:   childID,
			TheirsCommit: side.Encode().ID,
			Winner:       objects.SideOurs,
			Paths:        []string{"1-1", "3-4"},
		}},
		{"conflict/add-add", "both sides added config.json (base absent); theirs won; a JSON pointer path", &objects.Conflict{
			Key:          "config.json",
			Ours:         objects.Entry{ID: blobID(`{"a":1}`), Kind: objects.KindJSON, Size: 7},
			Theirs:       objects.Entry{ID: blobID(`{"a":2}`), Kind: objects.KindJSON, Size: 7},
			OursCommit:   fakeID(0xa1),
			TheirsCommit: fakeID(0xa2),
			Winner:       objects.SideTheirs,
			Paths:        []string{"/a"},
		}},
		{"conflict/delete-modify", "ours deleted a binary document that theirs changed; the delete won; no paths", &objects.Conflict{
			Key:          "docs/images/logo.png",
			Base:         objects.Entry{ID: blobID(helloBytes), Kind: objects.KindBinary, Size: 4},
			Theirs:       objects.Entry{ID: blobID("\x00\x01"), Kind: objects.KindBinary, Size: 2},
			OursCommit:   fakeID(0xa1),
			TheirsCommit: fakeID(0xa2),
			Winner:       objects.SideOurs,
		}},
		{"conflict/replaces", "a second conflict on a document, keeping the two earlier records", &objects.Conflict{
			Key:          "docs/hello.txt",
			Base:         objects.Entry{ID: blobID(helloBytes), Kind: objects.KindText, Size: 4},
			Ours:         objects.Entry{ID: blobID("\x00\x01"), Kind: objects.KindBinary, Size: 2},
			Theirs:       objects.Entry{ID: blobID(helloBytes), Kind: objects.KindText, Size: 4},
			OursCommit:   fakeID(0xa3),
			TheirsCommit: fakeID(0xa4),
			Winner:       objects.SideTheirs,
			Paths:        []string{""},
			Replaces:     []objects.ID{fakeID(0x01), fakeID(0x02)},
		}},
		{"workingset/empty", "the working set of a branch with no commits and nothing staged", &objects.WorkingSet{}},
		{"workingset/merging", "a working set with staged maps and a merge waiting to be committed", &objects.WorkingSet{
			Base:         childID,
			Index:        internal.Encode().ID,
			Conflicts:    conflictsLeaf.Encode().ID,
			MergeHead:    side.Encode().ID,
			MergeMessage: "merge side into main",
		}},
	}
}

// sampleBytes returns the encodings of every sample of the given type
// (every sample if t is 0).
func sampleBytes(t testing.TB, typ objects.Type) [][]byte {
	t.Helper()
	var out [][]byte
	for _, s := range samples() {
		data := encodeValue(t, s.value).Data
		if typ == 0 || objects.Type(data[0]) == typ {
			out = append(out, data)
		}
	}
	return out
}

// sameValue reports how two decoded values differ, or "" if they are the
// same object. Commit times are compared as instants plus zone offsets,
// since the encoding keeps the offset but not the zone name.
func sameValue(want, got any) string {
	wc, ok1 := want.(*objects.Commit)
	gc, ok2 := got.(*objects.Commit)
	if ok1 && ok2 {
		_, wo := wc.Time.Zone()
		_, gotOff := gc.Time.Zone()
		if !wc.Time.Equal(gc.Time) || wo != gotOff {
			return fmt.Sprintf("time %s, want %s", gc.Time.Format(time.RFC3339Nano), wc.Time.Format(time.RFC3339Nano))
		}
		if !wc.CommitTime.Equal(gc.CommitTime) {
			return fmt.Sprintf("commit time %s, want %s", gc.CommitTime.Format(time.RFC3339Nano), wc.CommitTime.Format(time.RFC3339Nano))
		}
		w, g := *wc, *gc
		w.Time, g.Time = time.Time{}, time.Time{}
		w.CommitTime, g.CommitTime = time.Time{}, time.Time{}
		want, got = &w, &g
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Sprintf("got %#v\nwant %#v", got, want)
	}
	return ""
}

// raw builds hand-made encodings for corrupt-input tests. Each part is
// appended as: byte -> one byte; uv -> uvarint; sv -> varint;
// objects.ID -> 32 bytes; str -> uvarint length + bytes; []byte -> as is.
type (
	uv  uint64
	sv  int64
	str string
)

func raw(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			b = append(b, p)
		case objects.Type:
			b = append(b, byte(p))
		case objects.Kind:
			b = append(b, byte(p))
		case objects.Side:
			b = append(b, byte(p))
		case uv:
			b = appendUvarint(b, uint64(p))
		case sv:
			ux := uint64(p) << 1
			if p < 0 {
				ux = ^ux
			}
			b = appendUvarint(b, ux)
		case objects.ID:
			b = append(b, p[:]...)
		case str:
			b = appendUvarint(b, uint64(len(p)))
			b = append(b, p...)
		case []byte:
			b = append(b, p...)
		case string:
			b = append(b, p...)
		default:
			panic(fmt.Sprintf("raw: unexpected %T", p))
		}
	}
	return b
}

// appendUvarint is written out here rather than taken from encoding/binary
// so that the tests pin the varint format independently of the code under
// test.
func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// hdr is the header of a current-format object of type t.
func hdr(t objects.Type) []byte { return []byte{byte(t), objects.FormatVersion} }

// longKey returns a valid key of exactly n bytes.
func longKey(n int) string { return strings.Repeat("k", n) }
