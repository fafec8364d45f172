package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

func TestRoundTripEveryTypeAndLevel(t *testing.T) {
	objs := sampleObjects(3000)
	for _, level := range []wire.Level{wire.LevelFastest, wire.LevelDefault, wire.LevelBetter} {
		pack := writePack(t, wire.WriterOptions{Level: level}, objs)
		got, err := readPack(bytes.NewReader(pack), wire.Limits{})
		if err != io.EOF {
			t.Fatalf("level %d: read ended with %v, want io.EOF", level, err)
		}
		samePrefix(t, got, objs)
		if len(got) != len(objs) {
			t.Fatalf("level %d: read %d objects, wrote %d", level, len(got), len(objs))
		}
	}
}

func TestNextAfterEndKeepsReturningEOF(t *testing.T) {
	pr := wire.NewPackReader(bytes.NewReader(writePack(t, wire.WriterOptions{}, sampleObjects(3))), wire.Limits{})
	for range 3 {
		if _, err := pr.Next(); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := pr.Next(); err != io.EOF {
			t.Fatalf("Next after the trailer: %v, want io.EOF", err)
		}
	}
	if pr.Count() != 3 {
		t.Fatalf("Count = %d, want 3", pr.Count())
	}
}

func TestEmptyPack(t *testing.T) {
	pack := writePack(t, wire.WriterOptions{}, nil)
	if !bytes.HasPrefix(pack, packHeader()) {
		t.Fatalf("pack starts with %q, want the header", pack[:min(len(pack), 8)])
	}
	got, err := readPack(bytes.NewReader(pack), wire.Limits{})
	if err != io.EOF || len(got) != 0 {
		t.Fatalf("empty pack: %d objects, %v; want none and io.EOF", len(got), err)
	}
}

// An object larger than the compressor's window and blocks comes back whole.
func TestObjectLargerThanWindow(t *testing.T) {
	content := make([]byte, 10<<20)
	for i := range content {
		content[i] = byte(i * 7 / 3)
	}
	objs := []objects.Object{objects.EncodeBlob([]byte("small")), objects.EncodeBlob(content)}
	got, err := readPack(bytes.NewReader(writePack(t, wire.WriterOptions{}, objs)), wire.Limits{})
	if err != io.EOF {
		t.Fatal(err)
	}
	samePrefix(t, got, objs)
	if len(got) != 2 {
		t.Fatalf("read %d objects, want 2", len(got))
	}
}

// Changing any byte of a pack (each single bit, and all bits) is an error,
// and no object is returned before it that the writer did not write.
func TestCorruptionAtEveryByte(t *testing.T) {
	objs := sampleObjects(8)
	pack := writePack(t, wire.WriterOptions{}, objs)
	t.Logf("pack of %d objects: %d bytes", len(objs), len(pack))
	for i := range pack {
		for _, mask := range []byte{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff} {
			bad := bytes.Clone(pack)
			bad[i] ^= mask
			got, err := readPack(bytes.NewReader(bad), wire.Limits{})
			samePrefix(t, got, objs)
			if err == io.EOF {
				t.Fatalf("byte %d ^ %#x: the pack was accepted", i, mask)
			}
			if !isPackError(err) {
				t.Fatalf("byte %d ^ %#x: unexpected error kind: %v", i, mask, err)
			}
		}
	}
}

// A pack cut at any length is ErrTruncated, never a clean end: the end
// marker and trailer come last, outside the compressed stream.
func TestTruncationAtEveryLength(t *testing.T) {
	objs := sampleObjects(8)
	pack := writePack(t, wire.WriterOptions{}, objs)
	for n := range len(pack) {
		got, err := readPack(bytes.NewReader(pack[:n]), wire.Limits{})
		samePrefix(t, got, objs)
		if !errors.Is(err, wire.ErrTruncated) {
			t.Fatalf("cut at %d of %d: %v, want ErrTruncated", n, len(pack), err)
		}
		if errors.Is(err, io.EOF) {
			t.Fatalf("cut at %d: the error wraps io.EOF: %v", n, err)
		}
	}
}

// A pack cut exactly between two records, where the compressed stream
// happens to be whole, is caught: there is no end marker and trailer.
func TestCutBetweenRecords(t *testing.T) {
	objs := sampleObjects(3)
	got, err := readPack(bytes.NewReader(frame(compress(t, records(objs[:2])), 1000, -1)), wire.Limits{})
	if !errors.Is(err, wire.ErrTruncated) {
		t.Fatalf("records without a trailer: %v, want ErrTruncated", err)
	}
	samePrefix(t, got, objs)
	if len(got) != 2 {
		t.Fatalf("read %d objects before the cut, want 2", len(got))
	}
}

func TestHeader(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty input", nil, wire.ErrTruncated},
		{"cut in the magic", []byte("FOLI"), wire.ErrTruncated},
		{"cut before the version", []byte(wire.Magic), wire.ErrTruncated},
		{"header only", packHeader(), wire.ErrTruncated},
		{"not a pack", []byte("PK\x03\x04 a zip file, say"), objects.ErrCorrupt},
		{"short garbage", []byte("X"), objects.ErrCorrupt},
		{"newer version", append([]byte(wire.Magic), wire.Version+1, 0, 0, 0), objects.ErrUnknownFormat},
		{"version zero", append([]byte(wire.Magic), 0), objects.ErrUnknownFormat},
		{"header then garbage", append(packHeader(), "not zstd at all"...), objects.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readPack(bytes.NewReader(tt.input), wire.Limits{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// Hand-built packs, each wrong in one way.
func TestMalformedPacks(t *testing.T) {
	objs := sampleObjects(3)
	recs := records(objs)
	good := rawPack(t, recs, 3)
	badSum := bytes.Clone(good)
	badSum[len(badSum)-1] ^= 1
	// An object whose hash matches but whose type this build does not know.
	unknownType := []byte{99, objects.FormatVersion, 'x'}
	commitHeader := []byte{byte(objects.TypeCommit), objects.FormatVersion}
	one := func(id objects.ID, data []byte) []byte { return rawPack(t, record(id, data), 1) }

	tests := []struct {
		name string
		pack []byte
		want error
	}{
		{"valid", good, io.EOF},
		{"valid in one-byte chunks", frame(compress(t, recs), 1, 3), io.EOF},
		{"count too high", rawPack(t, recs, 4), objects.ErrCorrupt},
		{"count too low", rawPack(t, recs, 2), objects.ErrCorrupt},
		{"bad checksum", badSum, objects.ErrCorrupt},
		{"data after the pack", append(bytes.Clone(good), 0), objects.ErrCorrupt},
		{"a record cut at the end of the stream", rawPack(t, append(bytes.Clone(recs), 5), 3), objects.ErrCorrupt},
		{"ID does not match", one(objs[1].ID, objs[0].Data), objects.ErrCorrupt},
		{"not canonical", one(objects.Hash(commitHeader), commitHeader), objects.ErrCorrupt},
		{"unknown object type", one(objects.Hash(unknownType), unknownType), objects.ErrUnknownFormat},
		{"one-byte object", one(objects.Hash([]byte{1}), []byte{1}), objects.ErrCorrupt},
		{"zero-length record", rawPack(t, []byte{0}, 0), objects.ErrCorrupt},
		{"overlong record length", rawPack(t, append([]byte{0x80, 0x00}, recs...), 3), objects.ErrCorrupt},
		{"record length that never ends", rawPack(t, bytes.Repeat([]byte{0xff}, 11), 0), objects.ErrCorrupt},
		{"overlong chunk length", append(append(packHeader(), 0x81, 0x00), good[len(packHeader())+1:]...), objects.ErrCorrupt},
		{"not zstd inside the chunks", frame([]byte("plain text, not compressed"), 1000, 0), objects.ErrCorrupt},
		{"no end marker", frame(compress(t, recs), 1000, -1), wire.ErrTruncated},
		{"cut in the trailer", good[:len(good)-2], wire.ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readPack(bytes.NewReader(tt.pack), wire.Limits{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	objs := sampleObjects(20)
	pack := writePack(t, wire.WriterOptions{}, objs)
	t.Run("max objects", func(t *testing.T) {
		got, err := readPack(bytes.NewReader(pack), wire.Limits{MaxObjects: 19})
		if !errors.Is(err, objects.ErrTooLarge) || len(got) != 19 {
			t.Fatalf("%d objects, %v; want 19 then ErrTooLarge", len(got), err)
		}
		if _, err := readPack(bytes.NewReader(pack), wire.Limits{MaxObjects: 20}); err != io.EOF {
			t.Fatalf("exactly at the limit: %v", err)
		}
	})
	t.Run("max object size", func(t *testing.T) {
		largest := 0
		for _, o := range objs {
			largest = max(largest, len(o.Data))
		}
		if _, err := readPack(bytes.NewReader(pack), wire.Limits{MaxObjectSize: int64(largest) - 1}); !errors.Is(err, objects.ErrTooLarge) {
			t.Fatalf("%v, want ErrTooLarge", err)
		}
		if _, err := readPack(bytes.NewReader(pack), wire.Limits{MaxObjectSize: int64(largest)}); err != io.EOF {
			t.Fatalf("exactly at the limit: %v", err)
		}
	})
	t.Run("max bytes", func(t *testing.T) {
		decoded := int64(len(records(objs)))
		if _, err := readPack(bytes.NewReader(pack), wire.Limits{MaxBytes: decoded - 1}); !errors.Is(err, objects.ErrTooLarge) {
			t.Fatalf("%v, want ErrTooLarge", err)
		}
		if _, err := readPack(bytes.NewReader(pack), wire.Limits{MaxBytes: decoded}); err != io.EOF {
			t.Fatalf("exactly at the limit: %v", err)
		}
	})
	// The record claims 1 TiB and nothing follows: ErrTooLarge rather than
	// ErrTruncated shows that the size is refused before any read.
	t.Run("size refused before reading", func(t *testing.T) {
		_, err := readPack(bytes.NewReader(rawPack(t, appendUvarint(nil, 1<<40), -1)), wire.Limits{})
		if !errors.Is(err, objects.ErrTooLarge) {
			t.Fatalf("%v, want ErrTooLarge", err)
		}
	})
	// 64 MiB of zeros compress to a few KiB; the default object size
	// limit stops them before they are decoded.
	t.Run("compression bomb", func(t *testing.T) {
		bomb := make([]byte, 64<<20)
		bomb[0], bomb[1] = byte(objects.TypeBlob), objects.FormatVersion
		packed := rawPack(t, record(objects.Hash(bomb), bomb), 1)
		t.Logf("bomb: %d bytes decode to %d", len(packed), len(bomb))
		_, err := readPack(bytes.NewReader(packed), wire.Limits{})
		if !errors.Is(err, objects.ErrTooLarge) {
			t.Fatalf("%v, want ErrTooLarge", err)
		}
	})
}

// A zstd stream that asks for a window above MaxWindow is refused before
// the decoder allocates it.
func TestWindowTooLarge(t *testing.T) {
	// Enough to span several blocks, so the encoder declares its window
	// rather than the content size of a single-segment frame.
	recs := records(sampleObjects(1000))
	for _, tt := range []struct {
		window int
		want   error
	}{
		{wire.MaxWindow, io.EOF},
		{2 * wire.MaxWindow, objects.ErrTooLarge},
		{64 << 20, objects.ErrTooLarge},
	} {
		packed := rawPack(t, recs, 1000, zstd.WithWindowSize(tt.window))
		if _, err := readPack(bytes.NewReader(packed), wire.Limits{}); !errors.Is(err, tt.want) {
			t.Fatalf("window %d: %v, want %v", tt.window, err, tt.want)
		}
	}
}

// A transport that fails mid-pack gives an error that is both ErrTruncated
// and the transport's own.
func TestTransportError(t *testing.T) {
	errReset := errors.New("connection reset")
	pack := writePack(t, wire.WriterOptions{}, sampleObjects(200))
	r := io.MultiReader(bytes.NewReader(pack[:len(pack)/2]), failingReader{errReset})
	_, err := readPack(r, wire.Limits{})
	if !errors.Is(err, wire.ErrTruncated) || !errors.Is(err, errReset) {
		t.Fatalf("%v, want ErrTruncated wrapping the transport's error", err)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestWriter(t *testing.T) {
	t.Run("nothing written before the first Write", func(t *testing.T) {
		var buf bytes.Buffer
		wire.NewPackWriter(&buf, wire.WriterOptions{})
		if buf.Len() != 0 {
			t.Fatalf("NewPackWriter wrote %d bytes", buf.Len())
		}
	})
	t.Run("close does not close the destination", func(t *testing.T) {
		w := &closeSpy{}
		pw := wire.NewPackWriter(w, wire.WriterOptions{})
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		if w.closed {
			t.Fatal("Close closed the underlying writer")
		}
		if err := pw.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := pw.Write(objects.EncodeBlob(nil)); err == nil {
			t.Fatal("Write after Close succeeded")
		}
	})
	t.Run("an object shorter than a header is refused", func(t *testing.T) {
		pw := wire.NewPackWriter(io.Discard, wire.WriterOptions{})
		for _, data := range [][]byte{nil, {byte(objects.TypeBlob)}} {
			if err := pw.Write(objects.Object{ID: objects.Hash(data), Data: data}); !errors.Is(err, objects.ErrCorrupt) {
				t.Fatalf("%d-byte object: %v, want ErrCorrupt", len(data), err)
			}
		}
	})
	t.Run("destination errors are returned and sticky", func(t *testing.T) {
		errFull := errors.New("disk full")
		pw := wire.NewPackWriter(failingWriter{errFull}, wire.WriterOptions{})
		if err := pw.Write(objects.EncodeBlob([]byte("x"))); !errors.Is(err, errFull) {
			t.Fatalf("Write: %v, want %v", err, errFull)
		}
		if err := pw.Write(objects.EncodeBlob([]byte("y"))); !errors.Is(err, errFull) {
			t.Fatalf("second Write: %v, want %v", err, errFull)
		}
		if err := pw.Close(); !errors.Is(err, errFull) {
			t.Fatalf("Close: %v, want %v", err, errFull)
		}
	})
	t.Run("the caller may reuse Data after Write", func(t *testing.T) {
		data := objects.EncodeBlob([]byte("original")).Data
		obj := objects.Object{ID: objects.Hash(data), Data: data}
		var buf bytes.Buffer
		pw := wire.NewPackWriter(&buf, wire.WriterOptions{})
		if err := pw.Write(obj); err != nil {
			t.Fatal(err)
		}
		copy(data[objects.HeaderSize:], "scribble")
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := readPack(&buf, wire.Limits{})
		if err != io.EOF || len(got) != 1 || string(got[0].Data[objects.HeaderSize:]) != "original" {
			t.Fatalf("read %d objects, %v", len(got), err)
		}
	})
}

type closeSpy struct {
	bytes.Buffer
	closed bool
}

func (c *closeSpy) Close() error { c.closed = true; return nil }

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

// A pack streamed as an HTTP request body over a real connection, written
// while it is read, arrives whole and verified.
func TestStreamOverHTTP(t *testing.T) {
	objs := sampleObjects(2000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := readPack(r.Body, wire.Limits{})
		if err != io.EOF {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for i := range got {
			if got[i].ID != objs[i].ID {
				http.Error(w, "object "+strconv.Itoa(i)+" differs", http.StatusBadRequest)
				return
			}
		}
		io.WriteString(w, strconv.Itoa(len(got)))
	}))
	defer srv.Close()

	body, w := io.Pipe()
	go func() {
		pw := wire.NewPackWriter(w, wire.WriterOptions{})
		for _, o := range objs {
			if err := pw.Write(o); err != nil {
				w.CloseWithError(err)
				return
			}
		}
		w.CloseWithError(pw.Close())
	}()
	resp, err := http.Post(srv.URL, "application/x-folio-pack", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(reply)) != strconv.Itoa(len(objs)) {
		t.Fatalf("server answered %d %q", resp.StatusCode, reply)
	}
}

// Encoders and decoders are pooled; one that ended a pack in error must
// serve the next pack as well as a new one, from any goroutine.
func TestPooledCodersAfterErrors(t *testing.T) {
	objs := sampleObjects(50)
	good := writePack(t, wire.WriterOptions{}, objs)
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 0x55
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if _, err := readPack(bytes.NewReader(bad), wire.Limits{}); err == io.EOF {
					errs <- fmt.Errorf("goroutine %d: a damaged pack was accepted", g)
					return
				}
				pw := wire.NewPackWriter(failingWriter{errors.New("gone")}, wire.WriterOptions{})
				pw.Write(objs[0])
				pw.Close()
				pack, err := packBytes(wire.WriterOptions{Level: wire.Level(i % 3)}, objs)
				if err != nil {
					errs <- err
					return
				}
				got, err := readPack(bytes.NewReader(pack), wire.Limits{})
				if err != io.EOF || len(got) != len(objs) {
					errs <- fmt.Errorf("goroutine %d, round %d: %d objects, %v", g, i, len(got), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// isPackError reports whether err is one of the errors a bad pack gives.
func isPackError(err error) bool {
	for _, want := range []error{wire.ErrTruncated, objects.ErrCorrupt, objects.ErrUnknownFormat, objects.ErrTooLarge} {
		if errors.Is(err, want) {
			return true
		}
	}
	return false
}
