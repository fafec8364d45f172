package repo

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkExport exports 10,000 documents of ~1 KiB into a new folder:
// every file written to a temp name, synced (one syncfs on Linux) and
// renamed into place.
func BenchmarkExport(b *testing.B) {
	ctx := context.Background()
	r, err := Init(ctx, b.TempDir(), "", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	const n = 10_000
	var edits []Edit
	for i := range n {
		e, err := r.WriteDocumentBytes(ctx, fmt.Appendf(nil, `{"n": %d, "pad": "%01000d"}`, i, i))
		if err != nil {
			b.Fatal(err)
		}
		edits = append(edits, Edit{Key: fmt.Sprintf("d%02d/doc%05d.json", i%100, i), Entry: e})
	}
	if _, err := r.StageEdits(ctx, "refs/heads/main", edits); err != nil {
		b.Fatal(err)
	}
	id, err := r.Commit(ctx, "refs/heads/main", CommitOptions{Author: ada})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.ResetTimer()
	for i := range b.N {
		if _, err := r.Export(ctx, id, filepath.Join(dir, fmt.Sprint(i)), ExportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
