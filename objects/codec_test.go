package objects_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

// decodeAs decodes data with the decoder of the value's own type (not the
// generic Decode), so each typed decoder is exercised.
func decodeAs(data []byte, like any) (any, error) {
	switch like.(type) {
	case []byte:
		return objects.BlobContent(data)
	case *objects.Node:
		return objects.DecodeNode(data)
	case *objects.Commit:
		return objects.DecodeCommit(data)
	case *objects.Conflict:
		return objects.DecodeConflict(data)
	case *objects.WorkingSet:
		return objects.DecodeWorkingSet(data)
	case *objects.Chunked:
		return objects.DecodeChunked(data)
	}
	return objects.Decode(data)
}

// decode(encode(x)) == x and encode(decode(b)) == b, through both the typed
// decoder and Decode, for every sample.
func TestRoundTrip(t *testing.T) {
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			obj := encodeValue(t, s.value)
			if obj.ID != objects.Hash(obj.Data) {
				t.Fatalf("ID %s is not the hash of the encoding", obj.ID.Short())
			}
			if again := encodeValue(t, s.value); !bytes.Equal(again.Data, obj.Data) {
				t.Fatal("encoding twice gave different bytes")
			}
			for _, decode := range []func([]byte) (any, error){
				func(b []byte) (any, error) { return decodeAs(b, s.value) },
				objects.Decode,
			} {
				got, err := decode(bytes.Clone(obj.Data))
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if diff := sameValue(s.value, got); diff != "" {
					t.Fatalf("decode(encode(x)) != x: %s", diff)
				}
				if re := encodeValue(t, got); !bytes.Equal(re.Data, obj.Data) || re.ID != obj.ID {
					t.Fatalf("encode(decode(b)) != b:\n got %x\nwant %x", re.Data, obj.Data)
				}
			}
			if err := objects.Verify(obj.ID, obj.Data); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// A decoded commit's time has the encoded offset, and its zone is named
// like Git's "+0530" (the original zone name is not kept).
func TestCommitTimeZoneNames(t *testing.T) {
	for _, s := range samples() {
		c, ok := s.value.(*objects.Commit)
		if !ok {
			continue
		}
		got, err := objects.DecodeCommit(c.Encode().Data)
		if err != nil {
			t.Fatal(err)
		}
		name, offset := got.Time.Zone()
		_, wantOffset := c.Time.Zone()
		if offset != wantOffset {
			t.Errorf("%s: offset %d, want %d", s.name, offset, wantOffset)
		}
		want := map[string]string{
			"commit/root": "UTC", "commit/child": "+0530", "commit/side": "-0330", "commit/merge": "-0500",
			"commit/historic": "+0019", "commit/extreme-zone": "-2359", "commit/legacy-v1": "UTC", "commit/committed": "+0530",
		}[s.name]
		if name != want {
			t.Errorf("%s: zone name %q, want %q", s.name, name, want)
		}
	}
}

func TestTypeOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want objects.Type
		err  error
	}{
		{"nil", nil, 0, objects.ErrCorrupt},
		{"one byte", []byte{1}, 0, objects.ErrCorrupt},
		{"blob", []byte{1, 1}, objects.TypeBlob, nil},
		{"chunked", []byte{6, 1, 0xff}, objects.TypeChunked, nil},
		{"type 0", []byte{0, 1}, 0, objects.ErrUnknownFormat},
		{"type 7", []byte{7, 1}, 0, objects.ErrUnknownFormat},
		{"type 255", []byte{255, 1}, 0, objects.ErrUnknownFormat},
		{"version 0", []byte{1, 0}, 0, objects.ErrUnknownFormat},
		{"version 2", []byte{2, 2}, 0, objects.ErrUnknownFormat},
		{"commit version 1", []byte{3, 1}, objects.TypeCommit, nil},
		{"commit version 2", []byte{3, 2}, objects.TypeCommit, nil},
		{"commit version 3", []byte{3, 3}, objects.TypeCommit, nil},
		{"commit version 4", []byte{3, 4}, 0, objects.ErrUnknownFormat},
		{"version 255", []byte{2, 255}, 0, objects.ErrUnknownFormat},
	} {
		got, err := objects.TypeOf(tc.data)
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: TypeOf = %v, %v; want %v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

// Every typed decoder, and Decode, refuses an unknown type tag or format
// version with ErrUnknownFormat, and a known but different type with
// ErrCorrupt.
func TestDecodersCheckTheHeader(t *testing.T) {
	decoders := map[objects.Type]func([]byte) (any, error){
		objects.TypeBlob:       func(b []byte) (any, error) { return objects.BlobContent(b) },
		objects.TypeNode:       func(b []byte) (any, error) { return objects.DecodeNode(b) },
		objects.TypeCommit:     func(b []byte) (any, error) { return objects.DecodeCommit(b) },
		objects.TypeConflict:   func(b []byte) (any, error) { return objects.DecodeConflict(b) },
		objects.TypeWorkingSet: func(b []byte) (any, error) { return objects.DecodeWorkingSet(b) },
		objects.TypeChunked:    func(b []byte) (any, error) { return objects.DecodeChunked(b) },
	}
	valid := map[objects.Type][]byte{}
	for _, data := range sampleBytes(t, 0) {
		valid[objects.Type(data[0])] = data
	}
	if len(valid) != len(decoders) {
		t.Fatalf("samples cover %d types, want %d", len(valid), len(decoders))
	}
	for typ, decode := range decoders {
		data := valid[typ]
		unknown := []byte{0, objects.CommitFormatVersion + 1, 255}
		if typ != objects.TypeCommit {
			unknown = append(unknown, objects.CommitFormatVersion)
		}
		for _, v := range unknown {
			bad := bytes.Clone(data)
			bad[1] = v
			for name, dec := range map[string]func([]byte) (any, error){typ.String(): decode, "Decode": objects.Decode} {
				if _, err := dec(bad); !errors.Is(err, objects.ErrUnknownFormat) {
					t.Errorf("%s of a %s with version %d: %v, want ErrUnknownFormat", name, typ, v, err)
				}
			}
		}
		for _, tag := range []byte{0, 7, 200} {
			bad := bytes.Clone(data)
			bad[0] = tag
			if _, err := decode(bad); !errors.Is(err, objects.ErrUnknownFormat) {
				t.Errorf("%s decoder with type tag %d: %v, want ErrUnknownFormat", typ, tag, err)
			}
		}
		for other, otherData := range valid {
			if other == typ {
				continue
			}
			if _, err := decode(otherData); !errors.Is(err, objects.ErrCorrupt) {
				t.Errorf("%s decoder given a valid %s: %v, want ErrCorrupt", typ, other, err)
			}
		}
	}
}

// Every prefix of a valid encoding is rejected (except for blobs, whose
// every prefix past the header is a valid blob), and so is any encoding
// with bytes appended.
func TestDecodersRejectTruncationAndTrailingBytes(t *testing.T) {
	for _, s := range samples() {
		data := encodeValue(t, s.value).Data
		_, isBlob := s.value.([]byte)
		for n := range len(data) {
			prefix := bytes.Clone(data[:n])
			for name, decode := range map[string]func([]byte) (any, error){
				"typed":  func(b []byte) (any, error) { return decodeAs(b, s.value) },
				"Decode": objects.Decode,
			} {
				_, err := decode(prefix)
				switch {
				case isBlob && n >= objects.HeaderSize:
					if err != nil {
						t.Errorf("%s: %s of a %d-byte blob prefix: %v", s.name, name, n, err)
					}
				case !errors.Is(err, objects.ErrCorrupt):
					t.Errorf("%s: %s of the first %d of %d bytes: %v, want ErrCorrupt", s.name, name, n, len(data), err)
				}
			}
		}
		if isBlob {
			continue
		}
		for _, extra := range [][]byte{{0}, {1}, {0x80}, []byte("trailing")} {
			long := append(bytes.Clone(data), extra...)
			if _, err := decodeAs(long, s.value); !errors.Is(err, objects.ErrCorrupt) {
				t.Errorf("%s with %q appended: %v, want ErrCorrupt", s.name, extra, err)
			}
			if _, err := objects.Decode(long); !errors.Is(err, objects.ErrCorrupt) {
				t.Errorf("Decode of %s with %q appended: %v, want ErrCorrupt", s.name, extra, err)
			}
		}
	}
}

func TestVerify(t *testing.T) {
	for _, data := range sampleBytes(t, 0) {
		id := objects.Hash(data)
		if err := objects.Verify(id, data); err != nil {
			t.Errorf("Verify of a valid %s: %v", objects.Type(data[0]), err)
		}
		wrong := id
		wrong[0] ^= 1
		if err := objects.Verify(wrong, data); !errors.Is(err, objects.ErrCorrupt) {
			t.Errorf("Verify with a wrong ID: %v, want ErrCorrupt", err)
		}
		if err := objects.Verify(objects.ID{}, data); !errors.Is(err, objects.ErrCorrupt) {
			t.Errorf("Verify with the zero ID: %v, want ErrCorrupt", err)
		}
		flipped := bytes.Clone(data)
		flipped[len(flipped)-1] ^= 0x40
		if err := objects.Verify(id, flipped); !errors.Is(err, objects.ErrCorrupt) {
			t.Errorf("Verify of a changed %s under its old ID: %v, want ErrCorrupt", objects.Type(data[0]), err)
		}
	}
	// The hash matches but the bytes are not a valid object: still refused.
	for _, tc := range []struct {
		data []byte
		err  error
	}{
		{raw(hdr(objects.TypeNode), byte(0), uv(0)), objects.ErrCorrupt},
		{[]byte{byte(objects.TypeCommit)}, objects.ErrCorrupt},
		{[]byte{9, 1, 'x'}, objects.ErrUnknownFormat},
		{[]byte{1, 2, 'x'}, objects.ErrUnknownFormat},
	} {
		if err := objects.Verify(objects.Hash(tc.data), tc.data); !errors.Is(err, tc.err) {
			t.Errorf("Verify(%x) = %v, want %v", tc.data, err, tc.err)
		}
	}
}

func TestBlobContent(t *testing.T) {
	obj := objects.EncodeBlob([]byte("abc"))
	if !bytes.Equal(obj.Data, []byte{1, 1, 'a', 'b', 'c'}) {
		t.Errorf("EncodeBlob(abc) = %x", obj.Data)
	}
	got, err := objects.BlobContent(obj.Data)
	if err != nil || string(got) != "abc" {
		t.Errorf("BlobContent = %q, %v", got, err)
	}
	// The content is not a copy: the encoding is the content plus a header.
	if &got[0] != &obj.Data[2] {
		t.Error("BlobContent copied the content")
	}
	// EncodeBlob copies its input.
	in := []byte("xyz")
	obj = objects.EncodeBlob(in)
	in[0] = 'Q'
	if obj.Data[2] != 'x' {
		t.Error("EncodeBlob shares memory with its input")
	}
}

// ItemSize, which the chunker cuts on, is exactly what an item adds to a
// node's encoding at each level.
func TestItemSizeMatchesEncoding(t *testing.T) {
	items := []objects.NodeItem{
		{Key: "a", Entry: objects.Entry{ID: fakeID(1), Kind: objects.KindText, Size: 0}},
		{Key: "b" + longKey(200), Entry: objects.Entry{ID: fakeID(2), Kind: objects.KindJSON, Size: 1 << 20}},
		{Key: "c", Entry: objects.Entry{ID: fakeID(3), Kind: objects.KindBinary, Size: 1<<64 - 1}},
	}
	for _, level := range []uint8{0, 1, objects.MaxNodeLevel} {
		var prev int
		for n := 1; n <= len(items); n++ {
			node := &objects.Node{Level: level, Items: items[:n]}
			size := len(node.Encode().Data)
			if n > 1 {
				if got, want := size-prev, objects.ItemSize(level, items[n-1]); got != want {
					t.Errorf("level %d: item %d added %d bytes, ItemSize says %d", level, n-1, got, want)
				}
			} else if want := objects.HeaderSize + 2 + objects.ItemSize(level, items[0]); size != want {
				t.Errorf("level %d: one-item node is %d bytes, want %d", level, size, want)
			}
			prev = size
		}
	}
	if s := (&objects.Node{Level: 2, Items: items}).String(); s != "node(level 2, 3 items)" {
		t.Errorf("Node.String() = %q", s)
	}
}

// A hash mismatch names both IDs with enough digits to tell them apart,
// even when their short forms are the same.
func TestVerifyNamesDistinctIDs(t *testing.T) {
	data := []byte{byte(objects.TypeBlob), objects.FormatVersion, 'x'}
	got := objects.Hash(data)
	claimed := got
	claimed[objects.IDSize-1] ^= 1 // differs only in the last digit
	err := objects.Verify(claimed, data)
	want := claimed.String() + " hashes to " + got.String()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Verify: %v, want it to say %q", err, want)
	}
	claimed = got
	claimed[0] ^= 0x10 // differs in the first digit: the short forms do
	if err := objects.Verify(claimed, data); err == nil || !strings.Contains(err.Error(), claimed.Short()+" hashes to "+got.Short()) {
		t.Fatalf("Verify: %v, want short forms", err)
	}
}
