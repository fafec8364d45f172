package wire

import (
	"bufio"
	"bytes"
	"errors"
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

func TestReadFrameRejects(t *testing.T) {
	for name, c := range map[string]struct {
		input []byte
		want  error
	}{
		"empty":          {nil, objects.ErrCorrupt},
		"cut short":      {[]byte{10, '{'}, ErrTruncated},
		"not JSON":       {[]byte{3, 'a', 'b', 'c'}, objects.ErrCorrupt},
		"over the limit": {[]byte{0xff, 0xff, 0xff, 0xff, 0x7f}, objects.ErrTooLarge},
	} {
		var v FetchRequest
		if err := ReadFrame(bufio.NewReader(bytes.NewReader(c.input)), &v); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
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
