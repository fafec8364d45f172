package wire_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

const benchBlobs = 100_000

var jsonBlobs = sync.OnceValue(func() []objects.Object {
	rng := rand.New(rand.NewPCG(42, 42))
	objs := make([]objects.Object, benchBlobs)
	for i := range objs {
		objs[i] = objects.EncodeBlob(jsonDoc(rng, i))
	}
	return objs
})

// BenchmarkPackJSONBlobs writes then reads a pack of 100,000 JSON blobs of
// about 1 KiB. MB/s counts object bytes through both ends; write-MB/s and
// read-MB/s split it; ratio is object bytes over pack bytes, and
// ratio-without-ids what the same stream would reach without the IDs.
func BenchmarkPackJSONBlobs(b *testing.B) {
	objs := jsonBlobs()
	var raw int64
	for _, o := range objs {
		raw += int64(len(o.Data))
	}
	for _, level := range []struct {
		name  string
		level wire.Level
		zstd  zstd.EncoderLevel
	}{
		{"fastest", wire.LevelFastest, zstd.SpeedFastest},
		{"default", wire.LevelDefault, zstd.SpeedDefault},
		{"better", wire.LevelBetter, zstd.SpeedBetterCompression},
	} {
		b.Run(level.name, func(b *testing.B) {
			var buf bytes.Buffer
			buf.Grow(int(raw))
			var writeTime, readTime time.Duration
			var before, after runtime.MemStats
			b.SetBytes(raw)
			b.ReportAllocs()
			runtime.ReadMemStats(&before)
			for b.Loop() {
				buf.Reset()
				start := time.Now()
				pw := wire.NewPackWriter(&buf, wire.WriterOptions{Level: level.level})
				for _, o := range objs {
					if err := pw.Write(o); err != nil {
						b.Fatal(err)
					}
				}
				if err := pw.Close(); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				pr := wire.NewPackReader(bytes.NewReader(buf.Bytes()), wire.Limits{})
				for {
					if _, err := pr.Next(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
				writeTime += mid.Sub(start)
				readTime += time.Since(mid)
			}
			runtime.ReadMemStats(&after)
			n := float64(b.N)
			b.ReportMetric(float64(raw)/float64(buf.Len()), "ratio")
			b.ReportMetric(float64(raw)/ratioWithoutIDs(b, objs, level.zstd), "ratio-without-ids")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n/float64(len(objs)), "allocs/obj")
			b.ReportMetric(n*float64(raw)/1e6/writeTime.Seconds(), "write-MB/s")
			b.ReportMetric(n*float64(raw)/1e6/readTime.Seconds(), "read-MB/s")
		})
	}
}

// ratioWithoutIDs returns the size of the records' zstd stream with the
// IDs left out, for comparison.
func ratioWithoutIDs(b *testing.B, objs []objects.Object, level zstd.EncoderLevel) float64 {
	var out countingWriter
	enc, err := zstd.NewWriter(&out, zstd.WithEncoderLevel(level), zstd.WithWindowSize(4<<20),
		zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
	if err != nil {
		b.Fatal(err)
	}
	var prefix []byte
	for _, o := range objs {
		prefix = appendUvarint(prefix[:0], uint64(len(o.Data)))
		enc.Write(prefix)
		enc.Write(o.Data)
	}
	enc.Close()
	return float64(out)
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// BenchmarkIDOverhead measures what sending IDs costs in pack bytes, at
// the fastest level, for the same 100,000 blobs laid out two ways: loose
// (nothing else in the pack names them: the worst case), and as a fetch
// sends them, in dependency order, each run of 64 blobs followed by the
// leaf node that names them. There the ID in a record and its repeat in
// the node are one match apart, so the IDs cost little.
func BenchmarkIDOverhead(b *testing.B) {
	blobs := jsonBlobs()
	var tree []objects.Object
	for start := 0; start < len(blobs); start += 64 {
		node := &objects.Node{}
		for i, o := range blobs[start:min(start+64, len(blobs))] {
			tree = append(tree, o)
			node.Items = append(node.Items, objects.NodeItem{
				Key:   fmt.Sprintf("customers/%07d", start+i),
				Entry: objects.Entry{ID: o.ID, Kind: objects.KindJSON, Size: uint64(len(o.Data) - objects.HeaderSize)},
			})
		}
		tree = append(tree, node.Encode())
	}
	for _, layout := range []struct {
		name string
		objs []objects.Object
	}{{"loose", blobs}, {"dependency-order", tree}} {
		b.Run(layout.name, func(b *testing.B) {
			var raw int64
			for _, o := range layout.objs {
				raw += int64(len(o.Data))
			}
			var pack countingWriter
			for b.Loop() {
				pack = 0
				pw := wire.NewPackWriter(&pack, wire.WriterOptions{})
				for _, o := range layout.objs {
					pw.Write(o)
				}
				if err := pw.Close(); err != nil {
					b.Fatal(err)
				}
			}
			without := ratioWithoutIDs(b, layout.objs, zstd.SpeedFastest)
			b.ReportMetric(float64(raw)/float64(pack), "ratio")
			b.ReportMetric(float64(raw)/without, "ratio-without-ids")
			b.ReportMetric(100*(float64(pack)/without-1), "id-overhead-%")
		})
	}
}

// BenchmarkSmallPack measures the fixed cost of a pack (compressor and
// decompressor set-up) on a pack of 10 objects, as a small fetch sends.
func BenchmarkSmallPack(b *testing.B) {
	objs := jsonBlobs()[:10]
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		pw := wire.NewPackWriter(&buf, wire.WriterOptions{})
		for _, o := range objs {
			pw.Write(o)
		}
		if err := pw.Close(); err != nil {
			b.Fatal(err)
		}
		if got, err := readPack(&buf, wire.Limits{}); err != io.EOF || len(got) != len(objs) {
			b.Fatal(err)
		}
	}
}

// BenchmarkPackPipe streams packs of 256 MiB and 1 GiB through an io.Pipe,
// as over a connection, and reports the peak heap in use while they flow:
// it must stay near the bound in doc.go and be the same for both sizes,
// not grow with the pack. One object in 256 is a 1 MiB incompressible
// chunk, the rest are JSON blobs of about 1 KiB. Run with -benchtime 1x.
func BenchmarkPackPipe(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	templates := make([]objects.Object, 1000)
	for i := range templates {
		templates[i] = objects.EncodeBlob(jsonDoc(rng, i))
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(rng.Uint32())
	}
	for _, size := range []struct {
		name  string
		bytes int64
	}{{"256MiB", 256 << 20}, {"1GiB", 1 << 30}} {
		b.Run(size.name, func(b *testing.B) {
			for b.Loop() {
				streamThroughPipe(b, size.bytes, templates, chunk)
			}
		})
	}
}

func streamThroughPipe(b *testing.B, packSize int64, templates []objects.Object, chunk []byte) {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	r, w := io.Pipe()
	var sent int64
	go func() {
		pw := wire.NewPackWriter(w, wire.WriterOptions{})
		var data []byte
		for i := 0; sent < packSize; i++ {
			data = data[:0]
			if i%256 == 255 {
				data = append(data, byte(objects.TypeBlob), objects.FormatVersion)
				data = strconv.AppendInt(data, int64(i), 10)
				data = append(data, chunk...)
			} else {
				t := templates[i%len(templates)].Data
				data = append(data, t[:len(t)-1]...)
				data = append(data, `,"seq":`...)
				data = strconv.AppendInt(data, int64(i), 10)
				data = append(data, '}')
			}
			if err := pw.Write(objects.Object{ID: objects.Hash(data), Data: data}); err != nil {
				w.CloseWithError(err)
				return
			}
			sent += int64(len(data))
		}
		w.CloseWithError(pw.Close())
	}()

	var peak uint64
	var ms runtime.MemStats
	pr := wire.NewPackReader(r, wire.Limits{})
	for n := 0; ; n++ {
		_, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if n%512 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	b.SetBytes(sent)
	b.ReportMetric(float64(sent)/(1<<20), "pack-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak-min(peak, base.HeapInuse))/(1<<20), "peak-heap-growth-MiB")
}
