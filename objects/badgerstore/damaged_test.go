package badgerstore

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore/damagetest"
)

// One bit flipped on disk, in a table file (small values) or in the value
// log (values over the value threshold): Get fails with ErrDamaged naming
// the object instead of returning the changed bytes, the neighbours still
// read, and putting the good bytes again repairs the object.
func TestFlippedBitOnDiskIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		size int
		file string
	}{
		{"table", 2000, ".sst"},
		{"value log", valueThreshold + 4096, ".vlog"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dir := filepath.Join(t.TempDir(), "store")
			content := damagetest.RandomText(uint64(tc.size), tc.size)
			victim := objects.EncodeBlob(content)
			neighbour := objects.EncodeBlob(damagetest.RandomText(7, 500))
			s := openTemp(t, dir, Options{Create: true})
			if err := s.Put(ctx, victim, neighbour); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			files, err := damagetest.Flip(dir, content[100:200])
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(files[0], tc.file) {
				t.Fatalf("the value is in %v, want a %s file", files, tc.file)
			}

			s = openTemp(t, dir, Options{})
			defer s.Close()
			data, err := s.Get(ctx, victim.ID)
			if !errors.Is(err, objects.ErrDamaged) || data != nil {
				t.Fatalf("Get of the damaged object: %d bytes, %v; want ErrDamaged", len(data), err)
			}
			if !strings.Contains(err.Error(), victim.ID.String()) {
				t.Errorf("the error %q does not name the object", err)
			}
			if got, err := s.Get(ctx, neighbour.ID); err != nil || !bytes.Equal(got, neighbour.Data) {
				t.Errorf("Get of an undamaged neighbour: %v", err)
			}
			if err := s.Put(ctx, victim); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Get(ctx, victim.ID); err != nil || !bytes.Equal(got, victim.Data) {
				t.Errorf("Get after a good copy was put again: %v", err)
			}
		})
	}
}

// One bit flipped in the name of a ref on disk: reading the refs fails
// with ErrCorrupt naming the damage, rather than listing the ref under a
// name never written (Badger does not check its blocks' checksums, and
// 'folio fsck' then found nothing while the branch looked empty). A ref's
// value carries a check of its name and ID (refCheckSize).
func TestFlippedBitInRefNameIsRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "store")
	name := "refs/heads/" + docBlob(2).ID.String() // incompressible
	s := openTemp(t, dir, Options{Create: true})
	if err := s.UpdateRefs(ctx, objects.RefUpdate{Name: name, New: docBlob(1).ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := damagetest.Flip(dir, []byte(name[len("refs/heads/"):])); err != nil {
		t.Fatal(err)
	}

	s, err := Open(dir, Options{})
	if err != nil {
		if !errors.Is(err, objects.ErrCorrupt) && !strings.Contains(err.Error(), "checksum") {
			t.Errorf("Open of the damaged store: %v; want an error that says it is damaged", err)
		}
		return
	}
	defer s.Close()
	refs, err := s.Refs(ctx, "")
	for _, r := range refs {
		if r.Name != name {
			t.Errorf("Refs lists %q (err %v): a ref under a name never written", r.Name, err)
		}
	}
	if !errors.Is(err, objects.ErrCorrupt) {
		t.Errorf("Refs of a store with a damaged ref: %v, want ErrCorrupt", err)
	}
}
