package transfer

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore/damagetest"
	"github.com/folio-db/folio/objects/repo"
)

// A pack that brings a good copy of a document the receiver holds damaged
// (a flipped bit on its disk) is taken: the good copy arrived, so nothing
// the receiver's commits name is missing. Failed after the receiver began
// to drop what its store holds unread: the reference to the dropped
// document was checked by reading the damaged copy, and the whole fetch
// failed as corrupt.
func TestReceiveTakesAGoodCopyOfADamagedObject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	content := damagetest.RandomText(7, 3000)
	dir := t.TempDir()
	dst, err := repo.Init(ctx, dir, "", repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stage(t, dst, map[string]string{"mine.txt": string(content)})
	commit(t, dst, "mine")
	dst.Close()
	if _, err := damagetest.Flip(filepath.Join(dir, repo.DirName), content[1000:1100]); err != nil {
		t.Fatal(err)
	}
	dst, err = repo.Open(ctx, filepath.Join(dir, repo.DirName), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	blob := objects.EncodeBlob(content)
	if _, err := dst.Store().Get(ctx, blob.ID); err == nil {
		t.Fatal("the stored copy reads back: the flip missed it")
	}

	src := newRepo(t, true)
	stage(t, src, map[string]string{"theirs.txt": string(content)})
	tip := commit(t, src, "theirs")
	buf := sendPack(t, src, tip, objects.ID{})
	if _, err := admitPack(dst.Store(), buf, []objects.ID{tip}); err != nil {
		t.Fatalf("a pack with a good copy of a damaged object: %v", err)
	}
}
