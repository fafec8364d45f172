package badgerstore

import (
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
)

// BenchmarkGetVerify measures what Get's hash check costs a document read:
// each sub-benchmark runs verified (as shipped) and unverified (the check
// skipped), on a store holding benchDocs JSON documents of ~1 KiB under a
// prolly index, as an import leaves it.
//
//   - doc: the read of `folio get` on an open store: look the key up in
//     the index with a cold node cache (every node on the path is read and
//     checked), then read the document.
//   - open-doc-close: the same with the store opened read-only and closed
//     each time, as one `folio get` process does.
//   - 1MiB: Get of one 1 MiB object (the value log), where hashing is the
//     largest share.
//   - hash-only: the check alone, on the same bytes (what verified costs
//     over unverified, without the noise of a busy machine).
//
// Run:
//
//	go test -run '^$' -bench GetVerify -benchtime 2000x ./objects/badgerstore/
func BenchmarkGetVerify(b *testing.B) {
	dir, root := indexedStore(b)
	ctx := context.Background()
	docGet := func(s *Store, i int) error {
		key := docKey(i * 7919 % benchDocs)
		e, ok, err := prolly.New(s).Get(ctx, root, key)
		if err != nil || !ok {
			return fmt.Errorf("lookup of %s: %v %v", key, ok, err)
		}
		_, err = s.Get(ctx, e.ID)
		return err
	}
	for _, mode := range []string{"verified", "unverified"} {
		b.Run("doc/"+mode, func(b *testing.B) {
			s := openTemp(b, dir, Options{ReadOnly: true})
			defer s.Close()
			s.unverified = mode == "unverified"
			i := 0
			for b.Loop() {
				if err := docGet(s, i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	// hash-only is the check alone: hashing the objects one doc read
	// reads (the nodes on the path and the document), less noisy than the
	// difference of the two above on a busy machine.
	b.Run("doc/hash-only", func(b *testing.B) {
		s := openTemp(b, dir, Options{ReadOnly: true})
		defer s.Close()
		var read [][]byte
		rec := &recorder{Store: s, read: &read}
		key := docKey(4242)
		e, _, err := prolly.New(rec).Get(ctx, root, key)
		if err == nil {
			_, err = rec.Get(ctx, e.ID)
		}
		if err != nil {
			b.Fatal(err)
		}
		size := 0
		for _, data := range read {
			size += len(data)
		}
		b.SetBytes(int64(size))
		for b.Loop() {
			for _, data := range read {
				objects.Hash(data)
			}
		}
		b.ReportMetric(float64(len(read)), "objects/op")
	})
	for _, mode := range []string{"verified", "unverified"} {
		b.Run("open-doc-close/"+mode, func(b *testing.B) {
			i := 0
			for b.Loop() {
				s := openTemp(b, dir, Options{ReadOnly: true})
				s.unverified = mode == "unverified"
				if err := docGet(s, i); err != nil {
					b.Fatal(err)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	big := objects.EncodeBlob(make([]byte, 1<<20))
	bigDir := filepath.Join(b.TempDir(), "big")
	s := openTemp(b, bigDir, Options{Create: true})
	if err := s.Put(ctx, big); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run("1MiB/hash-only", func(b *testing.B) {
		b.SetBytes(int64(len(big.Data)))
		for b.Loop() {
			objects.Hash(big.Data)
		}
	})
	for _, mode := range []string{"verified", "unverified"} {
		b.Run("1MiB/"+mode, func(b *testing.B) {
			s.unverified = mode == "unverified"
			b.SetBytes(int64(len(big.Data)))
			for b.Loop() {
				if _, err := s.Get(ctx, big.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// recorder keeps the bytes of every Get.
type recorder struct {
	*Store
	read *[][]byte
}

func (r *recorder) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	data, err := r.Store.Get(ctx, id)
	*r.read = append(*r.read, data)
	return data, err
}

func docKey(i int) string { return fmt.Sprintf("docs/%06d.json", i) }

// indexed is a store of benchDocs documents and their index, built once
// per process.
var indexed struct {
	once sync.Once
	tmp  string // removed by TestMain
	dir  string
	root objects.ID
	err  error
}

func indexedStore(b *testing.B) (string, objects.ID) {
	b.Helper()
	indexed.once.Do(func() {
		indexed.tmp, indexed.err = os.MkdirTemp("", "badgerstore-index-")
		if indexed.err != nil {
			return
		}
		indexed.dir = filepath.Join(indexed.tmp, "store")
		indexed.root, indexed.err = buildIndexed(context.Background(), indexed.dir)
	})
	if indexed.err != nil {
		b.Fatal(indexed.err)
	}
	return indexed.dir, indexed.root
}

func buildIndexed(ctx context.Context, dir string) (objects.ID, error) {
	if err := importDocs(ctx, dir, benchDocs); err != nil {
		return objects.ID{}, err
	}
	s, err := Open(dir, Options{})
	if err != nil {
		return objects.ID{}, err
	}
	defer s.Close()
	var entries iter.Seq2[string, objects.Entry] = func(yield func(string, objects.Entry) bool) {
		for i := range benchDocs {
			d := docBlob(i)
			if !yield(docKey(i), objects.Entry{ID: d.ID, Kind: objects.KindJSON, Size: uint64(len(d.Data) - objects.HeaderSize)}) {
				return
			}
		}
	}
	return prolly.New(s).Build(ctx, entries)
}
