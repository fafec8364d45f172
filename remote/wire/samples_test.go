package wire_test

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// sampleObjects returns n deterministic objects that cycle through every
// object type, built with the objects package's encoders.
func sampleObjects(n int) []objects.Object {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	objs := make([]objects.Object, 0, n)
	var last objects.ID
	for i := range n {
		var obj objects.Object
		switch i % 8 {
		case 0:
			obj = objects.EncodeBlob(jsonDoc(rng, i))
		case 1:
			obj = objects.EncodeBlob([]byte(fmt.Sprintf("line %d\nof some text\n", i)))
		case 2:
			bin := make([]byte, rng.IntN(3000))
			for j := range bin {
				bin[j] = byte(rng.Uint32())
			}
			obj = objects.EncodeBlob(bin)
		case 3:
			obj = objects.EncodeBlob(nil) // the shortest object there is
		case 4:
			obj = (&objects.Chunked{Size: 30, Chunks: []objects.ChunkRef{
				{ID: objects.Hash([]byte{byte(i)}), Size: 10},
				{ID: objects.Hash([]byte{byte(i), 1}), Size: 20},
			}}).Encode()
		case 5:
			node := &objects.Node{Level: uint8(i % 2)}
			for k := range 1 + i%40 {
				e := objects.Entry{ID: objects.Hash([]byte(fmt.Sprint(i, k))), Size: uint64(k + 1)}
				if node.Level == 0 {
					e.Kind = objects.KindJSON
				}
				node.Items = append(node.Items, objects.NodeItem{Key: fmt.Sprintf("docs/%04d/%04d", i, k), Entry: e})
			}
			obj = node.Encode()
		case 6:
			c := &objects.Commit{
				Index:   objects.Hash([]byte(fmt.Sprint("index", i))),
				Height:  1,
				Author:  objects.Signature{Name: "Ada", Email: "ada@example.com"},
				Time:    time.Unix(1_700_000_000+int64(i), 0).In(time.FixedZone("", 3600)),
				Message: fmt.Sprintf("commit %d", i),
			}
			if !last.IsZero() {
				c.Parents, c.Height = []objects.ID{last}, 2
			}
			obj = c.Encode()
			last = obj.ID
		case 7:
			if i%16 == 7 {
				obj = (&objects.Conflict{
					Key:          fmt.Sprintf("docs/%d", i),
					Base:         objects.Entry{ID: objects.Hash([]byte("base")), Kind: objects.KindText, Size: 4},
					Ours:         objects.Entry{ID: objects.Hash([]byte("ours")), Kind: objects.KindText, Size: 4},
					OursCommit:   objects.Hash([]byte("oc")),
					TheirsCommit: objects.Hash([]byte("tc")),
					Winner:       objects.SideOurs,
					Paths:        []string{"/a", "/b/0"},
				}).Encode()
			} else {
				obj = (&objects.WorkingSet{Base: last, Index: objects.Hash([]byte{byte(i)}),
					MergeHead: objects.Hash([]byte("theirs")), MergeMessage: "merge theirs"}).Encode()
			}
		}
		if err := objects.Verify(obj.ID, obj.Data); err != nil {
			panic(fmt.Sprintf("sample %d does not verify: %v", i, err))
		}
		objs = append(objs, obj)
	}
	return objs
}

var words = []string{"alpha", "beta", "gamma", "delta", "replica", "leader", "merge", "commit",
	"document", "index", "prolly", "tree", "sync", "fetch", "push", "conflict", "winner", "base"}

// jsonDoc returns a JSON document of about 1 KiB, shaped like an
// application's records: fixed keys, varied values.
func jsonDoc(rng *rand.Rand, i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"id":%d,"type":"customer","name":"%s %s","email":"%s.%d@example.com",`,
		i, words[rng.IntN(len(words))], words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(100000))
	fmt.Fprintf(&b, `"created":"2026-%02d-%02dT%02d:%02d:%02dZ","balance":%d.%02d,"active":%t,`,
		1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(100000), rng.IntN(100), rng.IntN(2) == 0)
	fmt.Fprintf(&b, `"address":{"street":"%d %s street","city":"%s","zip":"%05d","country":"NL"},"tags":[`,
		rng.IntN(999), words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(100000))
	for t := range 3 + rng.IntN(4) {
		if t > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%s"`, words[rng.IntN(len(words))])
	}
	b.WriteString(`],"orders":[`)
	for o := range 3 + rng.IntN(3) {
		if o > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"order":%d,"sku":"SKU-%06d","qty":%d,"price":%d.%02d}`, rng.IntN(1e6), rng.IntN(1e6), 1+rng.IntN(9), rng.IntN(500), rng.IntN(100))
	}
	b.WriteString(`],"notes":"`)
	for b.Len() < 1000 {
		b.WriteString(words[rng.IntN(len(words))])
		b.WriteByte(' ')
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

// writePack writes objs as a pack and returns its bytes.
func writePack(t testing.TB, opts wire.WriterOptions, objs []objects.Object) []byte {
	t.Helper()
	pack, err := packBytes(opts, objs)
	if err != nil {
		t.Fatal(err)
	}
	return pack
}

// packBytes is writePack for goroutines other than the test's.
func packBytes(opts wire.WriterOptions, objs []objects.Object) ([]byte, error) {
	var buf bytes.Buffer
	pw := wire.NewPackWriter(&buf, opts)
	for _, obj := range objs {
		if err := pw.Write(obj); err != nil {
			return nil, err
		}
	}
	if err := pw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readPack reads a pack to its end and returns the objects before the
// first error, and that error (io.EOF for a valid pack).
func readPack(r io.Reader, limits wire.Limits) ([]objects.Object, error) {
	pr := wire.NewPackReader(r, limits)
	var objs []objects.Object
	for {
		obj, err := pr.Next()
		if err != nil {
			return objs, err
		}
		objs = append(objs, obj)
	}
}

// compress returns the zstd stream of a pack's records.
func compress(t testing.TB, records []byte, opts ...zstd.EOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := zstd.NewWriter(&buf, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write(records); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// frame lays out a pack by hand: the header, stream in chunks of up to
// chunkSize bytes, and, if count >= 0, the end marker and a trailer with
// that count and the right checksum.
func frame(stream []byte, chunkSize int, count int) []byte {
	pack := packHeader()
	for len(stream) > 0 {
		n := min(chunkSize, len(stream))
		pack = appendUvarint(pack, uint64(n))
		pack = append(pack, stream[:n]...)
		stream = stream[n:]
	}
	if count < 0 {
		return pack
	}
	pack = appendUvarint(pack, 0)
	pack = appendUvarint(pack, uint64(count))
	crc := crc32.Checksum(pack, crc32.MakeTable(crc32.Castagnoli))
	return append(pack, byte(crc), byte(crc>>8), byte(crc>>16), byte(crc>>24))
}

// rawPack builds a whole pack of the given records by hand.
func rawPack(t testing.TB, records []byte, count int, opts ...zstd.EOption) []byte {
	t.Helper()
	return frame(compress(t, records, opts...), 1000, count)
}

// packHeader is the header of a current pack.
func packHeader() []byte { return append([]byte(wire.Magic), wire.Version) }

// record is one record as the format lays it out.
func record(id objects.ID, data []byte) []byte {
	r := appendUvarint(nil, uint64(len(data)))
	r = append(r, id[:]...)
	return append(r, data...)
}

// records lays out the records of objs.
func records(objs []objects.Object) []byte {
	var b []byte
	for _, o := range objs {
		b = append(b, record(o.ID, o.Data)...)
	}
	return b
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// sameObjects fails unless got is a prefix of want, object by object.
func samePrefix(t *testing.T, got, want []objects.Object) {
	t.Helper()
	if len(got) > len(want) {
		t.Fatalf("read %d objects, the pack has %d", len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("object %d: read %s (%d bytes), want %s (%d bytes)",
				i, got[i].ID.Short(), len(got[i].Data), want[i].ID.Short(), len(want[i].Data))
		}
	}
}
