package badgerstore

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// storeWithDamagedRefs is a store holding refs/heads/main (good) and three
// damaged refs: refs/heads/cut, its ID without its check (a value cut
// short), refs/tags/moved, whose check is another name's (a name damaged
// on disk), and refs/heads/short, of 2 bytes. It returns the IDs the
// first two hold.
func storeWithDamagedRefs(t *testing.T) (dir string, main, cut, moved objects.ID) {
	t.Helper()
	dir = newStoreDir(t)
	main, cut, moved = docBlob(1).ID, docBlob(2).ID, docBlob(3).ID
	s := openTemp(t, dir, Options{})
	if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: "refs/heads/main", New: main}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	setRaw(t, dir, string(refKey("refs/heads/cut")), string(cut[:]))
	setRaw(t, dir, string(refKey("refs/tags/moved")), string(encodeRef("refs/tags/other", moved)))
	setRaw(t, dir, string(refKey("refs/heads/short")), "xx")
	return dir, main, cut, moved
}

// A damaged ref is listed apart by CheckedRefs, with the ID its value
// holds, while Refs goes on failing (gc must never take the store for one
// without it); DropDamagedRef deletes it, retires that ID for gc's grace
// period and records a branch's removal in the change feed. Before, no
// call could delete a damaged ref: UpdateRefs failed with ErrCorrupt.
func TestDropDamagedRef(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir, main, cut, moved := storeWithDamagedRefs(t)
	s := openTemp(t, dir, Options{})
	defer s.Close()

	if _, err := s.Refs(ctx, ""); !errors.Is(err, objects.ErrCorrupt) {
		t.Fatalf("Refs with damaged refs: %v, want ErrCorrupt", err)
	}
	good, damaged, err := s.CheckedRefs(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []objects.Ref{{Name: "refs/heads/main", ID: main}}; !slices.Equal(good, want) {
		t.Errorf("CheckedRefs good = %v, want %v", good, want)
	}
	wantIDs := map[string]objects.ID{"refs/heads/cut": cut, "refs/heads/short": {}, "refs/tags/moved": moved}
	if len(damaged) != len(wantIDs) {
		t.Fatalf("CheckedRefs damaged = %+v, want %d", damaged, len(wantIDs))
	}
	for _, d := range damaged {
		if id, ok := wantIDs[d.Name]; !ok || d.ID != id || !strings.Contains(d.Why, "check") && !strings.Contains(d.Why, "bytes") {
			t.Errorf("damaged %+v; want ID %s and the reason", d, id.Short())
		}
	}

	seq := feedSeq(t, s)
	for _, d := range damaged {
		got, err := s.DropDamagedRef(ctx, d.Name)
		if err != nil || got != d {
			t.Fatalf("DropDamagedRef(%s) = %+v, %v; want %+v", d.Name, got, err, d)
		}
	}
	refs, err := s.Refs(ctx, "")
	if err != nil || !slices.Equal(refs, []objects.Ref{{Name: "refs/heads/main", ID: main}}) {
		t.Errorf("Refs after dropping the damaged ones = %v, %v; want main alone", refs, err)
	}
	for _, id := range []objects.ID{cut, moved} {
		if !storeHasKey(t, s, retiredKey(id)) {
			t.Errorf("the unverified %s is not retired: gc may delete what it names at once", id.Short())
		}
	}
	moves, _, err := s.Moves(ctx, seq, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(moves) != 2 || moves[0].Ref != "refs/heads/cut" || moves[0].Old != cut || !moves[0].New.IsZero() {
		t.Errorf("change feed after dropping two damaged branches: %+v", moves)
	}
}

// Bad input: DropDamagedRef of a ref that passes its check, or of none,
// changes nothing.
func TestDropDamagedRefRefusesAGoodRef(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir, main, _, _ := storeWithDamagedRefs(t)
	s := openTemp(t, dir, Options{})
	defer s.Close()
	seq := feedSeq(t, s)
	if _, err := s.DropDamagedRef(ctx, "refs/heads/main"); !errors.Is(err, objects.ErrRefNotDamaged) || !strings.Contains(err.Error(), "refs/heads/main") {
		t.Errorf("DropDamagedRef of a good ref: %v, want ErrRefNotDamaged naming it", err)
	}
	if _, err := s.DropDamagedRef(ctx, "refs/heads/none"); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("DropDamagedRef of no ref: %v, want ErrNotFound", err)
	}
	if id, err := s.Ref(ctx, "refs/heads/main"); err != nil || id != main {
		t.Errorf("main after the refusal: %s, %v", id.Short(), err)
	}
	if storeHasKey(t, s, retiredKey(main)) || feedSeq(t, s) != seq {
		t.Error("a refused DropDamagedRef retired main's value or wrote the change feed")
	}
}

func feedSeq(t *testing.T, s *Store) (seq uint64) {
	t.Helper()
	if err := s.db.View(func(txn *badger.Txn) (err error) { seq, err = readSeq(txn); return err }); err != nil {
		t.Fatal(err)
	}
	return seq
}

func storeHasKey(t *testing.T, s *Store, key []byte) bool {
	t.Helper()
	err := s.db.View(func(txn *badger.Txn) error { _, err := txn.Get(key); return err })
	if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		t.Fatal(err)
	}
	return err == nil
}
