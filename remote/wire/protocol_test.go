package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"

	"github.com/folio-db/folio/objects"
)

func TestFrameRoundTripLeavesThePackAfterIt(t *testing.T) {
	req := PushRequest{Updates: []RefUpdate{{Name: "refs/heads/main", New: objects.Hash([]byte("x"))}}, Force: true}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, req); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("PACK")
	r := bufio.NewReader(&buf)
	var got PushRequest
	if err := ReadFrame(r, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, req) {
		t.Errorf("read %+v, wrote %+v", got, req)
	}
	if rest, _ := r.ReadString(0); rest != "PACK" {
		t.Errorf("the frame took bytes of what follows: %q left", rest)
	}
}

// withChecksum appends a frame's checksum to its length and bytes.
func withChecksum(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func TestReadFrameRejects(t *testing.T) {
	for name, c := range map[string]struct {
		input []byte
		want  error
	}{
		"empty":            {nil, ErrTruncated},
		"cut short":        {[]byte{10, '{'}, ErrTruncated},
		"no checksum":      {[]byte{2, '{', '}'}, ErrTruncated},
		"wrong checksum":   {[]byte{2, '{', '}', 1, 2, 3, 4}, objects.ErrCorrupt},
		"not JSON":         {withChecksum([]byte{3, 'a', 'b', 'c'}), objects.ErrCorrupt},
		"overlong varint":  {withChecksum([]byte{0x82, 0x00, '{', '}'}), objects.ErrCorrupt},
		"over the limit":   {[]byte{0xff, 0xff, 0xff, 0xff, 0x7f}, objects.ErrTooLarge},
		"checksummed JSON": {withChecksum([]byte{2, '{', '}'}), nil},
	} {
		var v FetchRequest
		if err := ReadFrame(bufio.NewReader(bytes.NewReader(c.input)), &v); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// No single flipped byte of a frame goes unnoticed: the refs it carries
// are never read wrong.
func TestReadFrameCatchesEveryFlippedByte(t *testing.T) {
	resp := FetchResponse{Head: "refs/heads/main", Refs: []objects.Ref{
		{Name: "refs/heads/main", ID: objects.Hash([]byte("a"))}, {Name: "refs/tags/v1", ID: objects.Hash([]byte("b"))}}}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, resp); err != nil {
		t.Fatal(err)
	}
	frame := buf.Bytes()
	for i := range frame {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(frame)
			bad[i] ^= mask
			var got FetchResponse
			if err := ReadFrame(bufio.NewReader(bytes.NewReader(bad)), &got); err == nil {
				t.Fatalf("byte %d ^ %#x: read %+v without an error", i, mask, got)
			}
		}
	}
}

func TestValidateRefs(t *testing.T) {
	id := objects.Hash([]byte("a"))
	for name, c := range map[string]struct {
		resp RefsResponse
		ok   bool
	}{
		"good":             {RefsResponse{Head: "refs/heads/main", Refs: []objects.Ref{{Name: "refs/heads/main", ID: id}, {Name: "refs/tags/v1", ID: id}}}, true},
		"empty repository": {RefsResponse{Head: "refs/heads/main"}, true},
		"invalid UTF-8":    {RefsResponse{Refs: []objects.Ref{{Name: "refs/heads/m\x82in", ID: id}}}, false},
		"control":          {RefsResponse{Refs: []objects.Ref{{Name: "refs/heads/m\x01in", ID: id}}}, false},
		"not replicated":   {RefsResponse{Refs: []objects.Ref{{Name: "refs/remotes/o/main", ID: id}}}, false},
		"twice":            {RefsResponse{Refs: []objects.Ref{{Name: "refs/heads/a", ID: id}, {Name: "refs/heads/a", ID: id}}}, false},
		"zero ID":          {RefsResponse{Refs: []objects.Ref{{Name: "refs/heads/a"}}}, false},
		"head a tag":       {RefsResponse{Head: "refs/tags/v1"}, false},
		"head dot-dot":     {RefsResponse{Head: "refs/heads/a..b"}, false},
	} {
		err := c.resp.Validate()
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, objects.ErrInvalidRef)) {
			t.Errorf("%s: %v, want ok=%v", name, err, c.ok)
		}
	}
}

// FuzzReadFrame: any input gives a value or an error, never a panic, and a
// value read writes back to a frame that reads as the same value.
func FuzzReadFrame(f *testing.F) {
	var seed bytes.Buffer
	WriteFrame(&seed, FetchRequest{Prefixes: []string{"refs/heads/"}, Haves: []objects.ID{objects.Hash(nil)}})
	f.Add(seed.Bytes())
	f.Add([]byte{2, '{', '}'})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var v FetchRequest
		if err := ReadFrame(bufio.NewReader(bytes.NewReader(data)), &v); err != nil {
			return
		}
		var again bytes.Buffer
		if err := WriteFrame(&again, v); err != nil {
			t.Fatal(err)
		}
		var back FetchRequest
		if err := ReadFrame(bufio.NewReader(&again), &back); err != nil || !reflect.DeepEqual(back, v) {
			t.Fatalf("rewritten frame reads as %+v (%v), want %+v", back, err, v)
		}
	})
}
