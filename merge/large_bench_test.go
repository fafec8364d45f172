package merge

import (
	"context"
	"fmt"
	"io"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// lineReader streams a text of n 64-byte lines; edit may replace lines.
type lineReader struct {
	i, n int
	edit func(i int) string
	buf  []byte
}

func (l *lineReader) Read(p []byte) (int, error) {
	for len(l.buf) == 0 {
		if l.i == l.n {
			return 0, io.EOF
		}
		line := fmt.Sprintf("line %09d of a large text document, padded to 64 bytes...\n", l.i)
		if s := l.edit(l.i); s != "" {
			line = s
		}
		l.buf = []byte(line)
		l.i++
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}

// BenchmarkMergeLargeText merges a text document of 64 MiB and of 1 GiB
// (not with -short) that both sides edited in three places, one of them
// the same line (a conflict), on a real Badger store. peak-heap-MiB is the
// most heap in use while merging, sampled every millisecond: it stays near
// a few chunks plus the changed stretch, whatever the document's size.
//
//	go test ./merge/ -run '^$' -bench MergeLargeText -benchtime 1x
func BenchmarkMergeLargeText(b *testing.B) {
	for _, size := range []int{64 << 20, 1 << 30} {
		b.Run(fmt.Sprintf("MiB=%d", size>>20), func(b *testing.B) {
			if size > 64<<20 && testing.Short() {
				b.Skip("writes a 1 GiB document; not with -short")
			}
			ctx := context.Background()
			r := newDiskRepo(b)
			n := size / 64
			write := func(edit func(int) string) objects.Entry {
				e, err := r.WriteDocument(ctx, &lineReader{n: n, edit: edit})
				if err != nil {
					b.Fatal(err)
				}
				return e
			}
			base := write(func(int) string { return "" })
			ours := write(func(i int) string {
				switch i {
				case 10, n / 2:
					return fmt.Sprintf("ours changed line %d\n", i)
				}
				return ""
			})
			theirs := write(func(i int) string {
				switch i {
				case n - 10, n / 2:
					return fmt.Sprintf("theirs changed line %d\n", i)
				}
				return ""
			})
			b.ResetTimer()
			var peak uint64
			for b.Loop() {
				stop := sampleHeap(&peak)
				merged, paths, err := mergeLargeText(ctx, r, base, ours, theirs, objects.SideTheirs, MaxMergeSize)
				stop()
				if err != nil || len(paths) != 1 || merged.Size == 0 {
					b.Fatalf("merged %+v, paths %q, %v", merged, paths, err)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.SetBytes(int64(size))
		})
	}
}

// sampleHeap records the most heap in use into *peak until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			*peak = max(*peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
