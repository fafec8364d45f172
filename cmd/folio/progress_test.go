package main

import (
	"bytes"
	"testing"
	"time"
)

// TestProgressLine: the progress line is drawn on the first bytes, redrawn
// at most every progressEvery with the running total, and erased at the
// end; a progress that drew nothing erases nothing, and one without a
// terminal writes nothing at all.
func TestProgressLine(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	clock := time.Unix(0, 0)
	p := newProgress(&out, "cloning", func() time.Time { return clock })
	p.add(512)
	clock = clock.Add(progressEvery / 2)
	p.add(1024) // too soon: not drawn
	clock = clock.Add(progressEvery)
	p.add(2048)
	p.done()
	want := "\rcloning 512 B\x1b[K\rcloning 3.5 KiB\x1b[K\r\x1b[K"
	if got := out.String(); got != want {
		t.Errorf("progress wrote %q, want %q", got, want)
	}

	out.Reset()
	newProgress(&out, "fetching", time.Now).done()
	if out.Len() != 0 {
		t.Errorf("a progress that drew nothing wrote %q on done", out.String())
	}

	silent := &progress{} // stderr is not a terminal
	silent.add(1)
	silent.done()
}
