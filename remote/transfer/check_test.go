package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/transfer/transfertest"
	"github.com/folio-db/folio/remote/wire"
)

// receivePack receives objs, in order, as one pack (see admitPack).
func receivePack(t *testing.T, dst interface {
	Store() objects.Store
}, targets []objects.ID, objs ...objects.Object) error {
	t.Helper()
	_, err := admitPack(dst.Store(), packOf(t, objs...), targets)
	return err
}

// packOf is a pack of objs, in order.
func packOf(t *testing.T, objs ...objects.Object) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	pw := wire.NewPackWriter(&buf, wire.WriterOptions{})
	for _, o := range objs {
		if err := pw.Write(o); err != nil {
			t.Fatal(err)
		}
	}
	pw.Close()
	return &buf
}

// admitPack receives a pack into a quarantine of dst and admits what the
// targets reach, as a fetch or push does; with no error, it promotes what
// was admitted with the ref updates.
func admitPack(dst objects.Store, pack io.Reader, targets []objects.ID, updates ...objects.RefUpdate) (*Received, error) {
	ctx := context.Background()
	qr, err := dst.Quarantine(ctx)
	if err != nil {
		return nil, err
	}
	defer qr.Discard()
	got, err := Receive(ctx, qr, wire.NewPackReader(pack, wire.Limits{}))
	if err != nil {
		return got, err
	}
	keep, err := Admit(ctx, qr, dst, got, targets...)
	if err != nil {
		return got, err
	}
	return got, qr.Promote(ctx, keep, updates...)
}

func TestReceiveRefusesWrongTypesAndHeights(t *testing.T) {
	blob := objects.EncodeBlob([]byte("x"))
	leaf := (&objects.Node{Items: []objects.NodeItem{{Key: "a", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}}}}).Encode()
	good := (&objects.Commit{Index: leaf.ID, Height: 1, Time: time.Unix(1, 0).UTC()}).Encode()
	for name, objs := range map[string][]objects.Object{
		"index is a blob": {blob, (&objects.Commit{Index: blob.ID, Height: 1, Time: time.Unix(1, 0).UTC()}).Encode()},
		"entry names a commit": {blob, leaf, good,
			(&objects.Node{Items: []objects.NodeItem{{Key: "b", Entry: objects.Entry{ID: good.ID, Kind: objects.KindJSON, Size: 1}}}}).Encode()},
		"conflict entry names a blob": {blob,
			(&objects.Node{Items: []objects.NodeItem{{Key: "b", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindConflict, Size: 1}}}}).Encode()},
		"height does not follow the parent": {blob, leaf, good,
			(&objects.Commit{Index: leaf.ID, Parents: []objects.ID{good.ID}, Height: 7, Time: time.Unix(2, 0).UTC()}).Encode()},
		"parent is a blob": {blob, leaf,
			(&objects.Commit{Index: leaf.ID, Parents: []objects.ID{blob.ID}, Height: 2, Time: time.Unix(2, 0).UTC()}).Encode()},
		"working set": {(&objects.WorkingSet{}).Encode()},
	} {
		t.Run(name, func(t *testing.T) {
			dst := newRepo(t, false)
			err := receivePack(t, dst, nil, objs...)
			if !errors.Is(err, objects.ErrCorrupt) {
				t.Fatalf("receive: %v, want a corrupt-pack error", err)
			}
		})
	}
}

// References to objects the store holds already are checked against the
// store, as those within the pack are (a Get each, or one question to a
// store that answers in batches), on Badger and memory stores alike.
func TestReceiveChecksReferencesToStoredObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blob := objects.EncodeBlob([]byte("x"))
	leaf := (&objects.Node{Items: []objects.NodeItem{{Key: "a", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}}}}).Encode()
	good := (&objects.Commit{Index: leaf.ID, Height: 1, Time: time.Unix(1, 0).UTC()}).Encode()
	missing := objects.EncodeBlob([]byte("never stored"))
	for name, c := range map[string]struct {
		pack []objects.Object
		want error
	}{
		"index is a stored blob": {[]objects.Object{(&objects.Commit{Index: blob.ID, Height: 1, Time: time.Unix(1, 0).UTC()}).Encode()}, ErrBadReference},
		"entry names a stored commit": {[]objects.Object{
			(&objects.Node{Items: []objects.NodeItem{{Key: "b", Entry: objects.Entry{ID: good.ID, Kind: objects.KindJSON, Size: 1}}}}).Encode()}, ErrBadReference},
		"entry names nothing stored": {[]objects.Object{
			(&objects.Node{Items: []objects.NodeItem{{Key: "b", Entry: objects.Entry{ID: missing.ID, Kind: objects.KindText, Size: 1}}}}).Encode()}, ErrMissingReference},
		"entry names a stored blob": {[]objects.Object{
			(&objects.Node{Items: []objects.NodeItem{{Key: "b", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}}}}).Encode()}, nil},
	} {
		for _, badger := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/badger=%v", name, badger), func(t *testing.T) {
				dst := newRepo(t, badger)
				if err := dst.Store().Put(ctx, blob, leaf, good); err != nil {
					t.Fatal(err)
				}
				_, err := admitPack(dst.Store(), packOf(t, c.pack...), nil)
				if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
					t.Fatalf("receive: %v, want %v", err, c.want)
				}
			})
		}
	}
}

// The maps of a pack's stored parents prove only what they hold: the
// same object at the same level and key, with a kind of the same class.
// A new node that names a stored object where the parent's map holds
// another, or the same one as another kind of entry or at another level,
// has that reference read and refused as before (see parentMaps).
func TestReceiveProvesOnlyWhatTheParentsMapHolds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blob := objects.EncodeBlob([]byte("x"))
	leaf := (&objects.Node{Items: []objects.NodeItem{{Key: "a", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}}}}).Encode()
	base := (&objects.Commit{Index: leaf.ID, Height: 1, Time: time.Unix(1, 0).UTC()}).Encode()
	child := func(items ...objects.NodeItem) []objects.Object {
		n := (&objects.Node{Items: items}).Encode()
		return []objects.Object{n, (&objects.Commit{Index: n.ID, Parents: []objects.ID{base.ID}, Height: 2, Time: time.Unix(2, 0).UTC()}).Encode()}
	}
	for name, c := range map[string]struct {
		pack []objects.Object
		want error
	}{
		"the same document at the same key":              {child(objects.NodeItem{Key: "a", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindJSON, Size: 1}}), nil},
		"a stored commit where the map holds a document": {child(objects.NodeItem{Key: "a", Entry: objects.Entry{ID: base.ID, Kind: objects.KindText, Size: 1}}), ErrBadReference},
		"the document as a conflict record":              {child(objects.NodeItem{Key: "a", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindConflict, Size: 1}}), ErrBadReference},
		"the document as a child node": {func() []objects.Object {
			n := (&objects.Node{Level: 1, Items: []objects.NodeItem{
				{Key: "a", Entry: objects.Entry{ID: blob.ID, Size: 1}},
				{Key: "b", Entry: objects.Entry{ID: leaf.ID, Size: 1}}}}).Encode()
			return []objects.Object{n, (&objects.Commit{Index: n.ID, Parents: []objects.ID{base.ID}, Height: 2, Time: time.Unix(2, 0).UTC()}).Encode()}
		}(), ErrBadReference},
	} {
		for _, badger := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/badger=%v", name, badger), func(t *testing.T) {
				t.Parallel()
				dst := newRepo(t, badger)
				if err := dst.Store().Put(ctx, blob, leaf, base); err != nil {
					t.Fatal(err)
				}
				_, err := admitPack(dst.Store(), packOf(t, c.pack...), nil)
				if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
					t.Fatalf("receive: %v, want %v", err, c.want)
				}
			})
		}
	}
}

// A map cut where the chunking rule does not cut it is refused, so that
// leaders keep agreeing on the root of the same documents.
func TestAdmitRefusesForeignChunking(t *testing.T) {
	dst := newRepo(t, false)
	objs := transfertest.ForeignChunking(objects.ID{}, 1, time.Unix(1, 0))
	err := receivePack(t, dst, []objects.ID{objs[len(objs)-1].ID}, objs...)
	if !errors.Is(err, objects.ErrCorrupt) {
		t.Fatalf("a map chunked elsewhere: %v, want corrupt", err)
	}
	t.Log(err)
}

func TestAdmitTargets(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t, false)
	stage(t, r, map[string]string{"a": "a"})
	c := commit(t, r, "c")
	blob := objects.EncodeBlob([]byte("a"))
	if _, err := Admit(ctx, r.Store(), r.Store(), nil, c); err != nil {
		t.Errorf("a stored commit: %v", err)
	}
	if _, err := Admit(ctx, r.Store(), r.Store(), nil, objects.Hash([]byte("nothing"))); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("a missing commit: %v", err)
	}
	if _, err := Admit(ctx, r.Store(), r.Store(), nil, blob.ID); !errors.Is(err, objects.ErrCorrupt) {
		t.Errorf("a blob: %v", err)
	}
}

// A clone walks the store in its own order for speed, but sends only what
// the commits reach: a document staged and then reset stays behind.
func TestCloneSendsNothingUnreachable(t *testing.T) {
	ctx := context.Background()
	for _, badger := range []bool{false, true} {
		src, dst := newRepo(t, badger), newRepo(t, badger)
		stage(t, src, someDocs(300, "v1"))
		c := commit(t, src, "c")
		secret, err := src.WriteDocumentBytes(ctx, []byte(`{"secret": "staged, then reset"}`))
		if err != nil {
			t.Fatal(err)
		}
		sent, _ := transfer(t, src, dst, []objects.ID{c}, nil)
		if ok, _ := dst.Store().Has(ctx, secret.ID); ok {
			t.Errorf("badger=%v: a clone sent an object no commit reaches", badger)
		}
		if want := minimalBytes(t, src, newRepo(t, false), c); sent.Bytes != want {
			t.Errorf("badger=%v: clone sent %d bytes, its closure is %d", badger, sent.Bytes, want)
		}
	}
}

// Admit refuses maps that hold what their role forbids, whether the
// wrong part arrived now or is stored already.
func TestAdmitChecksMapRoles(t *testing.T) {
	doc := objects.EncodeBlob([]byte("doc"))
	docEntry := objects.Entry{ID: doc.ID, Kind: objects.KindText, Size: 3}
	heads := [2]objects.ID{objects.Hash([]byte("ours")), objects.Hash([]byte("theirs"))}
	record := func(key string, replaces ...objects.ID) objects.Object {
		return (&objects.Conflict{Key: key, Ours: docEntry, OursCommit: heads[0], TheirsCommit: heads[1],
			Winner: objects.SideOurs, Replaces: replaces}).Encode()
	}
	leaf := func(key string, e objects.Entry) objects.Object {
		return (&objects.Node{Items: []objects.NodeItem{{Key: key, Entry: e}}}).Encode()
	}
	recEntry := func(o objects.Object) objects.Entry {
		return objects.Entry{ID: o.ID, Kind: objects.KindConflict, Size: uint64(len(o.Data))}
	}
	good, elsewhere := record("doc"), record("elsewhere")
	index := leaf("doc", docEntry)
	for _, tc := range []struct {
		name             string
		stored, arrived  []objects.Object
		index, conflicts objects.ID
		ok               bool
	}{
		{"a good record", nil, []objects.Object{doc, good, index, leaf("doc", recEntry(good))}, index.ID, leaf("doc", recEntry(good)).ID, true},
		{"documents in the conflicts map", nil, []objects.Object{doc, index}, index.ID, index.ID, false},
		{"stored documents as the conflicts map", []objects.Object{doc, index}, nil, index.ID, index.ID, false},
		{"a record in the index", nil, []objects.Object{doc, good, leaf("doc", recEntry(good))}, leaf("doc", recEntry(good)).ID, objects.ID{}, false},
		{"a record filed under another key", nil, []objects.Object{doc, index, elsewhere, leaf("doc", recEntry(elsewhere))}, index.ID, leaf("doc", recEntry(elsewhere)).ID, false},
		{"a stored record filed under another key", []objects.Object{doc, elsewhere}, []objects.Object{index, leaf("doc", recEntry(elsewhere))}, index.ID, leaf("doc", recEntry(elsewhere)).ID, false},
		{"a record replacing another key's", nil, []objects.Object{doc, index, elsewhere, record("doc", elsewhere.ID), leaf("doc", recEntry(record("doc", elsewhere.ID)))}, index.ID, leaf("doc", recEntry(record("doc", elsewhere.ID))).ID, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := newRepo(t, false)
			if err := dst.Store().Put(context.Background(), tc.stored...); err != nil {
				t.Fatal(err)
			}
			c := (&objects.Commit{Index: tc.index, Conflicts: tc.conflicts, Height: 1, Time: time.Unix(1, 0).UTC()}).Encode()
			err := receivePack(t, dst, []objects.ID{c.ID}, append(tc.arrived, c)...)
			if tc.ok && err != nil {
				t.Fatalf("a good pack: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrBadMap) {
				t.Fatalf("admit: %v, want ErrBadMap", err)
			}
			if ok, _ := dst.Store().Has(context.Background(), c.ID); ok != tc.ok {
				t.Errorf("commit stored: %v", ok)
			}
		})
	}
}

// A peer cannot bring in a key no local write could make: a leaf that
// arrives with a .git or .folio segment is refused, naming the key. Such
// keys already stored (a repository from before the rule) are not checked
// again.
func TestAdmitRefusesReservedKeys(t *testing.T) {
	ctx := context.Background()
	blob := objects.EncodeBlob([]byte("[core]\n\tfsmonitor = touch pwned\n"))
	leaf := (&objects.Node{Items: []objects.NodeItem{
		{Key: ".GIT/config", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}},
		{Key: "a", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}},
	}}).Encode()
	commit := (&objects.Commit{Index: leaf.ID, Height: 1, Time: time.Unix(1, 0).UTC()}).Encode()
	dst := newRepo(t, false)
	err := receivePack(t, dst, []objects.ID{commit.ID}, blob, leaf, commit)
	if !errors.Is(err, objects.ErrInvalidKey) || !strings.Contains(err.Error(), ".GIT/config") {
		t.Fatalf("a leaf with .GIT/config: %v, want ErrInvalidKey naming the key", err)
	}
	// Stored before (as an old repository holds it): a new commit that
	// reuses the leaf passes.
	if err := dst.Store().Put(ctx, blob, leaf); err != nil {
		t.Fatal(err)
	}
	again := (&objects.Commit{Index: leaf.ID, Height: 1, Time: time.Unix(2, 0).UTC()}).Encode()
	if err := receivePack(t, dst, []objects.ID{again.ID}, again); err != nil {
		t.Errorf("a commit over an index already stored: %v", err)
	}
}

// A pack received straight into a new store (a clone) is checked whole by
// AdmitFresh, though every object of it is now stored: a reserved key is
// refused as Admit refuses it from a quarantine, and so is an object that
// no target reaches, which nothing would drop.
func TestAdmitFreshChecksWhatItStored(t *testing.T) {
	ctx := context.Background()
	doc := objects.EncodeBlob([]byte("x"))
	stray := objects.EncodeBlob([]byte("no ref reaches this"))
	leafOf := func(key string) objects.Object {
		return (&objects.Node{Items: []objects.NodeItem{{Key: key, Entry: objects.Entry{ID: doc.ID, Kind: objects.KindText, Size: 1}}}}).Encode()
	}
	commitOf := func(leaf objects.Object) objects.Object {
		return (&objects.Commit{Index: leaf.ID, Height: 1, Time: time.Unix(1, 0).UTC()}).Encode()
	}
	good, reserved := leafOf("a"), leafOf(".folio/x")
	for name, tc := range map[string]struct {
		objs []objects.Object
		want error
	}{
		"complete":         {[]objects.Object{doc, good, commitOf(good)}, nil},
		"reserved key":     {[]objects.Object{doc, reserved, commitOf(reserved)}, objects.ErrInvalidKey},
		"unreached object": {[]objects.Object{doc, stray, good, commitOf(good)}, ErrUnreached},
	} {
		t.Run(name, func(t *testing.T) {
			dst := newRepo(t, false).Store()
			got, err := Receive(ctx, dst, wire.NewPackReader(packOf(t, tc.objs...), wire.Limits{}))
			if err != nil {
				t.Fatal(err)
			}
			target := tc.objs[len(tc.objs)-1].ID
			err = AdmitFresh(ctx, dst, got, target)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("AdmitFresh: %v, want %v", err, tc.want)
			}
			// Admit, which trusts what the store holds, would have let
			// all of them pass.
			if _, err := Admit(ctx, dst, dst, got, target); err != nil {
				t.Fatalf("Admit over a store holding the pack: %v", err)
			}
		})
	}
}

// A stored parent's index vouches for its subtrees in an index only: a
// conflicts map made of the parent's index leaves, in the places they
// hold there, is still read and refused (see parentMaps.fits).
func TestAdmitTakesSubtreesOnlyFromAMapOfTheSameRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRepo(t, false)
	stage(t, r, someDocs(5000, "v1"))
	pid := commit(t, r, "base")
	parent, err := readCommit(ctx, r.Store(), pid)
	if err != nil {
		t.Fatal(err)
	}
	data, err := r.Store().Get(ctx, parent.Index)
	if err != nil {
		t.Fatal(err)
	}
	root, err := objects.DecodeNode(data)
	if err != nil {
		t.Fatal(err)
	}
	if root.Level == 0 || len(root.Items) < 3 {
		t.Fatalf("want a root above the leaves with 3 children or more, got level %d with %d", root.Level, len(root.Items))
	}
	// The root but its last child: the same children where they were,
	// and no boundary inside.
	conflicts := (&objects.Node{Level: root.Level, Items: root.Items[:len(root.Items)-1]}).Encode()
	c := (&objects.Commit{Index: parent.Index, Conflicts: conflicts.ID, Parents: []objects.ID{pid},
		Height: parent.Height + 1, Time: tick()}).Encode()
	if err := receivePack(t, r, []objects.ID{c.ID}, conflicts, c); !errors.Is(err, ErrBadMap) {
		t.Fatalf("admit: %v, want ErrBadMap", err)
	}
}

// A receive checks a reference to a stored object once for each set of
// types it may have (deferRef), not once for each object: the same stored
// object named as a document and as a conflict record, as a child node
// and as a document, or as a commit's index and as a document, is
// refused at the second name. Keyed by the object alone, the checks of
// the first name stood in for the second's.
func TestReceiveChecksEachTypeAStoredObjectIsNamedAs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blob := objects.EncodeBlob([]byte("x"))
	leaf := (&objects.Node{Items: []objects.NodeItem{{Key: "a", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}}}}).Encode()
	good := (&objects.Commit{Index: leaf.ID, Height: 1, Time: time.Unix(1, 0).UTC()}).Encode()
	names := func(key string, id objects.ID, kind objects.Kind) objects.Object {
		return (&objects.Node{Items: []objects.NodeItem{{Key: key, Entry: objects.Entry{ID: id, Kind: kind, Size: 1}}}}).Encode()
	}
	// Item a is where the stored parent's map holds it (parentMaps).
	proved := (&objects.Node{Items: []objects.NodeItem{{Key: "a", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}},
		{Key: "b", Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: 1}}}}).Encode()
	child := (&objects.Node{Level: 1, Items: []objects.NodeItem{{Key: "a", Entry: objects.Entry{ID: leaf.ID, Size: 1}}}}).Encode()
	onGood := func(index objects.ID) objects.Object {
		return (&objects.Commit{Index: index, Parents: []objects.ID{good.ID}, Height: 2, Time: time.Unix(2, 0).UTC()}).Encode()
	}
	for name, pack := range map[string][]objects.Object{
		"a document, then a conflict record":                {names("b", blob.ID, objects.KindText), names("c", blob.ID, objects.KindConflict)},
		"a child node, then a document":                     {child, names("d", leaf.ID, objects.KindText)},
		"an index, then a document":                         {onGood(leaf.ID), names("d", leaf.ID, objects.KindText)},
		"a document, then an index":                         {names("b", blob.ID, objects.KindText), onGood(blob.ID)},
		"a document its parent's map proves, then an index": {onGood(leaf.ID), proved, onGood(blob.ID)},
	} {
		for _, badger := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/badger=%v", name, badger), func(t *testing.T) {
				dst := newRepo(t, badger)
				if err := dst.Store().Put(ctx, blob, leaf, good); err != nil {
					t.Fatal(err)
				}
				if _, err := admitPack(dst.Store(), packOf(t, pack...), nil); !errors.Is(err, ErrBadReference) {
					t.Fatalf("receive: %v, want %v", err, ErrBadReference)
				}
			})
		}
	}
}
