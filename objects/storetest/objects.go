package storetest

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
)

// testRoundTrip stores objects from an empty blob to several MiB, in one
// call and one by one, and reads each back byte for byte.
func testRoundTrip(t *testing.T, s objects.Store) {
	ctx := t.Context()
	var batch []objects.Object
	for _, size := range []int{0, 1, 100, 1 << 10, 64 << 10, 1<<20 + 1, 3 << 20} {
		batch = append(batch, sized(size))
	}
	single := blob("stored on its own")
	mustPut(t, s, batch...)
	mustPut(t, s, single)
	for _, o := range append(batch, single) {
		has, err := s.Has(ctx, o.ID)
		if err != nil || !has {
			t.Errorf("Has(%s) = %v, %v after Put", o.ID.Short(), has, err)
		}
		got, err := s.Get(ctx, o.ID)
		if err != nil {
			t.Errorf("Get(%s) of %d bytes: %v", o.ID.Short(), len(o.Data), err)
			continue
		}
		if !bytes.Equal(got, o.Data) {
			t.Errorf("Get(%s) returned %d bytes that differ from the %d put", o.ID.Short(), len(got), len(o.Data))
		}
	}
}

func testGetMissing(t *testing.T, s objects.Store) {
	ctx := t.Context()
	mustPut(t, s, blob("present"))
	missing := blob("never stored").ID
	if _, err := s.Get(ctx, missing); !isNotFound(err) {
		t.Errorf("Get of a missing object: %v, want objects.ErrNotFound", err)
	}
	if has, err := s.Has(ctx, missing); err != nil || has {
		t.Errorf("Has of a missing object = %v, %v, want false, nil", has, err)
	}
	if _, err := s.Get(ctx, objects.ID{}); !isNotFound(err) {
		t.Errorf("Get of the zero ID: %v, want objects.ErrNotFound", err)
	}
}

// testCallerOwnsBytes checks both directions: the slice Get returns may be
// changed, and the slice given to Put may be reused once Put returns.
func testCallerOwnsBytes(t *testing.T, s objects.Store) {
	ctx := t.Context()
	orig := sized(4 << 10)
	given := objects.Object{ID: orig.ID, Data: bytes.Clone(orig.Data)}
	mustPut(t, s, given)
	clear(given.Data)

	got, err := s.Get(ctx, orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, orig.Data) {
		t.Fatal("changing the slice given to Put after it returned changed the stored object")
	}
	for i := range got {
		got[i] ^= 0xff
	}
	again, err := s.Get(ctx, orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, orig.Data) {
		t.Fatal("changing the slice Get returned changed the stored object")
	}
}

func testPutTwice(t *testing.T, s objects.Store) {
	ctx := t.Context()
	o := blob("twice")
	mustPut(t, s, o)
	mustPut(t, s, o)
	mustPut(t, s, o, o, blob("other"), o)
	got, err := s.Get(ctx, o.ID)
	if err != nil || !bytes.Equal(got, o.Data) {
		t.Fatalf("Get after repeated Puts = %q, %v", got, err)
	}
	if ids := objectIDs(t, s, nil); len(ids) != 2 {
		t.Errorf("Objects visits %d objects after putting two distinct ones many times", len(ids))
	}
}

// testDamagedReadsFail stores bytes under an ID they do not hash to, as a
// disk that flipped a bit would hold them: Get refuses them with an error
// wrapping objects.ErrDamaged that names the object, and putting the good
// bytes again (a repair) replaces the damaged copy.
func testDamagedReadsFail(t *testing.T, s objects.Store) {
	ctx := t.Context()
	good := blob("good bytes")
	mustPut(t, s, objects.Object{ID: good.ID, Data: blob("good byteS").Data})
	data, err := s.Get(ctx, good.ID)
	if !errors.Is(err, objects.ErrDamaged) || data != nil {
		t.Fatalf("Get of a damaged object = %q, %v; want no bytes and ErrDamaged", data, err)
	}
	if !strings.Contains(err.Error(), good.ID.String()) {
		t.Errorf("the error %q does not name the object %s", err, good.ID)
	}
	mustPut(t, s, good)
	if data, err := s.Get(ctx, good.ID); err != nil || !bytes.Equal(data, good.Data) {
		t.Fatalf("Get after putting the good bytes again = %q, %v", data, err)
	}
}

// testManyObjects puts more objects in one call than a store is likely to
// write in one internal batch, and walks them all in ID order.
func testManyObjects(t *testing.T, s objects.Store) {
	objs := blobs("many", 5000)
	mustPut(t, s, objs...)
	want := make([]objects.ID, len(objs))
	for i, o := range objs {
		want[i] = o.ID
	}
	slices.SortFunc(want, objects.ID.Compare)
	got := objectIDs(t, s, nil)
	if !slices.Equal(got, want) {
		t.Fatalf("Objects visited %d IDs, want the %d put, in ID order", len(got), len(want))
	}
	for _, o := range objs[:100] {
		if data, err := s.Get(t.Context(), o.ID); err != nil || !bytes.Equal(data, o.Data) {
			t.Fatalf("Get(%s) = %q, %v", o.ID.Short(), data, err)
		}
	}
}

func testObjectsPrefix(t *testing.T, s objects.Store) {
	objs := blobs("prefix", 600)
	mustPut(t, s, objs...)
	all := make([]objects.ID, len(objs))
	for i, o := range objs {
		all[i] = o.ID
	}
	slices.SortFunc(all, objects.ID.Compare)
	some := all[len(all)/2]
	unused := []byte{some[0], some[1], some[2] ^ 0x80, some[3]}
	for _, prefix := range [][]byte{nil, {}, some[:1], some[:2], some[:], unused} {
		var want []objects.ID
		for _, id := range all {
			if bytes.HasPrefix(id[:], prefix) {
				want = append(want, id)
			}
		}
		if got := objectIDs(t, s, prefix); !slices.Equal(got, want) {
			t.Errorf("Objects(%x) visited %d IDs, want %d in ID order", prefix, len(got), len(want))
		}
	}
}

func testObjectsStopsOnError(t *testing.T, s objects.Store) {
	mustPut(t, s, blobs("stop", 50)...)
	errStop := errors.New("stop here")
	calls := 0
	err := s.Objects(t.Context(), nil, func(objects.ID, []byte) error {
		calls++
		if calls == 3 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) || calls != 3 {
		t.Errorf("Objects after the callback failed on call 3: %v after %d calls", err, calls)
	}
}
