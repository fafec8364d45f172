package repo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
)

// fsck checks that each map holds what its role allows: documents in an
// index, and in a conflicts map records filed under their own key that
// replace only records of that key.
func TestFsckChecksConflictRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	doc := objects.EncodeBlob([]byte("doc"))
	docEntry := objects.Entry{ID: doc.ID, Kind: objects.KindText, Size: 3}
	other := objects.EncodeBlob([]byte("other"))
	otherEntry := objects.Entry{ID: other.ID, Kind: objects.KindText, Size: 5}
	heads := [2]objects.ID{objects.Hash([]byte("ours")), objects.Hash([]byte("theirs"))}
	record := func(key string, replaces ...objects.ID) objects.Object {
		return (&objects.Conflict{Key: key, Ours: docEntry, Theirs: otherEntry, OursCommit: heads[0],
			TheirsCommit: heads[1], Winner: objects.SideOurs, Replaces: replaces}).Encode()
	}
	leaf := func(key string, e objects.Entry) objects.Object {
		return (&objects.Node{Items: []objects.NodeItem{{Key: key, Entry: e}}}).Encode()
	}
	recEntry := func(o objects.Object) objects.Entry {
		return objects.Entry{ID: o.ID, Kind: objects.KindConflict, Size: uint64(len(o.Data))}
	}
	good := record("doc")
	wrongKey := record("elsewhere")
	replacesOther := record("doc", wrongKey.ID)
	index := leaf("doc", docEntry)
	for _, tc := range []struct {
		name      string
		objs      []objects.Object
		index     objects.Object
		conflicts objects.Object
		want      string // in a problem's message; "" for none
	}{
		{"a good record", []objects.Object{good}, index, leaf("doc", recEntry(good)), ""},
		{"documents in the conflicts map", nil, index, leaf("doc", docEntry), "conflicts map"},
		{"a record in the index", []objects.Object{good}, leaf("doc", recEntry(good)), objects.Object{}, "index"},
		{"a record filed under another key", []objects.Object{wrongKey}, index, leaf("doc", recEntry(wrongKey)), "filed under"},
		{"a record replacing another key's", []objects.Object{wrongKey, replacesOther}, index, leaf("doc", recEntry(replacesOther)), "replaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := memstore.New()
			r, err := Init(ctx, t.TempDir(), "", Options{Store: store})
			if err != nil {
				t.Fatal(err)
			}
			objs := append([]objects.Object{doc, other, tc.index}, tc.objs...)
			if !tc.conflicts.ID.IsZero() {
				objs = append(objs, tc.conflicts)
			}
			c := (&objects.Commit{Index: tc.index.ID, Conflicts: tc.conflicts.ID, Height: 1, Author: ada, Time: time.Unix(1, 0).UTC()}).Encode()
			objs = append(objs, c)
			if err := store.Put(ctx, objs...); err != nil {
				t.Fatal(err)
			}
			if err := store.UpdateRefs(ctx, objects.RefUpdate{Name: objects.TagPrefix + "t", New: c.ID}); err != nil {
				t.Fatal(err)
			}
			rep, err := r.Fsck(ctx)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range rep.Problems {
				found = found || tc.want != "" && strings.Contains(p.Message, tc.want)
			}
			switch {
			case tc.want == "" && !rep.OK():
				t.Errorf("fsck of a good repository: %+v", rep.Problems)
			case tc.want != "" && !found:
				t.Errorf("fsck problems %+v, want one about %q", rep.Problems, tc.want)
			}
		})
	}
}
