package repo

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore/damagetest"
)

// damagedRepo commits documents "a" (small), "big" (chunked) and "b" on
// main and on branch "side", flips a bit of needle on disk and reopens the
// repository.
func damagedRepo(t *testing.T, small, big []byte, needle []byte) (*Repo, objects.ID) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	r, err := Init(ctx, dir, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, r, "a", string(small))
	put(t, r, "big", string(big))
	put(t, r, "b", "beta")
	head := commit(t, r, "one", 1)
	if err := r.CreateBranch(ctx, "side", head); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := damagetest.Flip(filepath.Join(dir, DirName), needle); err != nil {
		t.Fatal(err)
	}
	r, err = Open(ctx, filepath.Join(dir, DirName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, head
}

// A flipped bit in a document's stored bytes makes reading it an error
// naming the key and the object, never the changed bytes; for a chunked
// document nothing past the last good chunk is written.
func TestDamagedDocumentReadFails(t *testing.T) {
	t.Parallel()
	small := damagetest.RandomText(1, 3000)
	big := damagetest.RandomText(2, 3*SingleBlobMax)
	for _, tc := range []struct {
		key    string
		needle []byte
	}{
		{"a", small[1000:1100]},
		{"big", big[2*SingleBlobMax : 2*SingleBlobMax+100]},
	} {
		t.Run(tc.key, func(t *testing.T) {
			t.Parallel()
			r, _ := damagedRepo(t, small, big, tc.needle)
			ctx := context.Background()
			_, e, err := r.ResolveDocument(ctx, "main", tc.key)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err = DocumentError(tc.key, r.CopyDocument(ctx, &out, e))
			if !errors.Is(err, objects.ErrDamaged) {
				t.Fatalf("read of damaged %s: %v, want ErrDamaged", tc.key, err)
			}
			if !strings.HasPrefix(err.Error(), "document "+tc.key+": ") || !strings.Contains(err.Error(), "damaged object ") {
				t.Errorf("the error %q does not name the key and the object", err)
			}
			want := map[string][]byte{"a": small, "big": big}[tc.key]
			if !bytes.HasPrefix(want, out.Bytes()) || bytes.Contains(out.Bytes(), tc.needle[:50]) {
				t.Errorf("the failed read wrote %d bytes that are not a good prefix of the document", out.Len())
			}
			if got := get(t, r, "main", "b"); got != "beta" {
				t.Errorf("an undamaged document reads %q", got)
			}
		})
	}
}

// fsck names every document a damaged object belongs to, with the branch
// and the commit.
func TestFsckNamesDamagedDocuments(t *testing.T) {
	t.Parallel()
	small := damagetest.RandomText(3, 3000)
	r, head := damagedRepo(t, small, damagetest.RandomText(4, 2*SingleBlobMax), small[1000:1100])
	rep, err := r.Fsck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	damaged := objects.EncodeBlob(small).ID
	if len(rep.Problems) != 1 || rep.Problems[0].ID != damaged {
		t.Fatalf("fsck problems %+v, want the blob of a (%s)", rep.Problems, damaged.Short())
	}
	var refs []string
	for _, u := range rep.Problems[0].Uses {
		if u.Key != "a" || u.Commit != head {
			t.Errorf("use %+v, want key a at commit %s", u, head.Short())
		}
		refs = append(refs, u.Ref)
	}
	if !slices.Contains(refs, objects.BranchPrefix+"main") {
		t.Errorf("uses name refs %v, want refs/heads/main among them", refs)
	}
	if !slices.Equal(rep.Damaged(), []objects.ID{damaged}) {
		t.Errorf("Damaged() = %v", rep.Damaged())
	}
}
