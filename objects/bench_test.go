package objects_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// fullLeaf is a leaf of about the prolly target size (4 KiB): 64 items with
// keys like "docs/000123.json".
func fullLeaf() *objects.Node {
	n := &objects.Node{}
	for i := range 64 {
		n.Items = append(n.Items, objects.NodeItem{
			Key:   fmt.Sprintf("docs/%06d.json", i),
			Entry: objects.Entry{ID: objects.Hash([]byte{byte(i)}), Kind: objects.KindJSON, Size: uint64(100 + i)},
		})
	}
	return n
}

func benchCommit() *objects.Commit {
	return &objects.Commit{
		Index: fakeID(1), Parents: []objects.ID{fakeID(2), fakeID(3)}, Height: 42,
		Author:  objects.Signature{Name: "Ada Lovelace", Email: "ada@example.org"},
		Time:    time.Date(2024, 3, 1, 12, 0, 0, 0, time.FixedZone("", 3600)),
		Message: "merge refs/remotes/origin/main into refs/heads/main",
	}
}

func BenchmarkEncodeNode(b *testing.B) {
	n := fullLeaf()
	b.SetBytes(int64(len(n.Encode().Data)))
	for b.Loop() {
		n.Encode()
	}
}

func BenchmarkDecodeNode(b *testing.B) {
	data := fullLeaf().Encode().Data
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := objects.DecodeNode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeCommit(b *testing.B) {
	data := benchCommit().Encode().Data
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := objects.DecodeCommit(data); err != nil {
			b.Fatal(err)
		}
	}
}

// Verify is what every object arriving over the network goes through.
func BenchmarkVerifyNode(b *testing.B) {
	obj := fullLeaf().Encode()
	b.SetBytes(int64(len(obj.Data)))
	for b.Loop() {
		if err := objects.Verify(obj.ID, obj.Data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyBlob1MiB(b *testing.B) {
	obj := objects.EncodeBlob(make([]byte, 1<<20))
	b.SetBytes(int64(len(obj.Data)))
	for b.Loop() {
		if err := objects.Verify(obj.ID, obj.Data); err != nil {
			b.Fatal(err)
		}
	}
}
