package repo

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
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

// BenchmarkChainBuild builds, and discards, chains of 16 writes of one
// document of ~1 KiB each on a branch of 10,000 documents: the work a
// group of 16 document API writes costs before its sync (prolly edits,
// node encoding and hashing, commits). us/write is per write.
func BenchmarkChainBuild(b *testing.B) {
	ctx := context.Background()
	r, err := Init(ctx, b.TempDir(), "", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	const n, group = 10_000, 16
	main := "refs/heads/main"
	seed := ChainWrite{Options: CommitOptions{Author: ada, Message: "seed"}}
	for i := range n {
		obj, e, _ := EncodeSmallDocument(fmt.Appendf(nil, `{"n": %d, "pad": "%01000d"}`, i, i))
		seed.Blobs = append(seed.Blobs, obj)
		seed.Edits = append(seed.Edits, Edit{Key: fmt.Sprintf("docs/%07d.json", i), Entry: e})
	}
	if _, err := r.CommitChain(ctx, main, []ChainWrite{seed}); err != nil {
		b.Fatal(err)
	}
	groups := make([][]ChainWrite, 64) // made before, as a server reads them
	v := 0
	for g := range groups {
		for range group {
			v++
			k := (v * 7919) % n
			obj, e, _ := EncodeSmallDocument(fmt.Appendf(nil, `{"n": %d, "v": %d, "pad": "%01000d"}`, k, v, k))
			groups[g] = append(groups[g], ChainWrite{Edits: []Edit{{Key: fmt.Sprintf("docs/%07d.json", k), Entry: e}},
				Blobs: []objects.Object{obj}, Options: CommitOptions{Author: ada, Message: "put"}})
		}
	}
	i := 0
	for b.Loop() {
		c, err := r.BuildChain(ctx, main, groups[i%len(groups)], nil)
		if err != nil {
			b.Fatal(err)
		}
		c.Discard()
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*group), "us/write")
}

// BenchmarkReceiveUpload receives a 1 KiB JSON document as the document
// API does, from a request body of declared length: reading it, its blob
// and its entry.
func BenchmarkReceiveUpload(b *testing.B) {
	ctx := context.Background()
	r, err := Init(ctx, b.TempDir(), "", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	doc := fmt.Appendf(nil, `{"n": 1, "pad": "%01000d"}`, 7)
	for b.Loop() {
		if _, _, err := r.ReceiveUpload(ctx, bytes.NewReader(doc), int64(len(doc))); err != nil {
			b.Fatal(err)
		}
	}
}
