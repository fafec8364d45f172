package badgerstore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4/table"
)

// BenchmarkReadOnlyOpenSetAside is the store's part of a read-only
// command (folio log) when set-aside tables (the tables of another store,
// copied in unlisted) hold 20,000 objects the store lacks: open
// read-only, close.
func BenchmarkReadOnlyOpenSetAside(b *testing.B) {
	src := filepath.Join(b.TempDir(), "src")
	s := openTemp(b, src, Options{Create: true})
	if err := s.Put(b.Context(), leafObjects(20_000)...); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "store")
	if err := openTemp(b, dir, Options{Create: true}).Close(); err != nil {
		b.Fatal(err)
	}
	tables, err := filepath.Glob(filepath.Join(src, "*.sst"))
	if err != nil {
		b.Fatal(err)
	}
	for i, f := range tables {
		data, err := os.ReadFile(f)
		if err == nil {
			err = os.WriteFile(table.NewFilename(uint64(1000+i), dir), data, 0o644)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := openTemp(b, dir, Options{ReadOnly: true}).Close(); err != nil {
			b.Fatal(err)
		}
	}
}
