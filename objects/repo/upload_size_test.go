package repo

import (
	"bytes"
	"context"
	"testing"
)

// ReceiveUpload takes the declared size (an HTTP Content-Length) only as a
// hint for its buffer: whatever it says, too small, too large, absurd or
// unknown, the entry and the document read back are those of the bytes
// that arrived.
func TestReceiveUploadIgnoresALyingSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := Init(ctx, t.TempDir(), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, n := range []int{0, 1, 1000, uploadInMemory - 1, uploadInMemory, uploadInMemory + 1, 3 * uploadInMemory} {
		content := bytes.Repeat([]byte("abcdefg\n"), n/8+1)[:n]
		want, err := r.WriteUpload(ctx, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int64{-1, 0, 1, int64(n) / 2, int64(n), int64(n) + 1, uploadInMemory, uploadInMemory + 1, 1 << 62} {
			got, blobs, err := r.ReceiveUpload(ctx, bytes.NewReader(content), size)
			if err != nil {
				t.Fatalf("%d bytes declared as %d: %v", n, size, err)
			}
			if got != want {
				t.Fatalf("%d bytes declared as %d: entry %+v, want %+v", n, size, got, want)
			}
			if err := r.Store().Put(ctx, blobs...); err != nil {
				t.Fatal(err)
			}
			back, err := r.ReadDocument(ctx, got)
			if err != nil || !bytes.Equal(back, content) {
				t.Fatalf("%d bytes declared as %d: read back %d bytes, %v", n, size, len(back), err)
			}
		}
	}
}
