package objects_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/folio-db/folio/objects"
)

// wantReferences lists, by hand from the object's fields, what References
// must return: every non-zero ID the object points at, in encoding order.
func wantReferences(v any) []objects.ID {
	var ids []objects.ID
	add := func(more ...objects.ID) {
		for _, id := range more {
			if !id.IsZero() {
				ids = append(ids, id)
			}
		}
	}
	switch v := v.(type) {
	case *objects.Chunked:
		for _, ch := range v.Chunks {
			add(ch.ID)
		}
	case *objects.Node:
		for _, it := range v.Items {
			add(it.Entry.ID)
		}
	case *objects.Commit:
		add(v.Index, v.Conflicts)
		add(v.Parents...)
	case *objects.Conflict:
		// The versions it keeps and the records it replaces; the two head
		// commits are not references (they are the merge commit's parents,
		// reached through it, or virtual merge bases no ref reaches).
		add(v.Base.ID, v.Ours.ID, v.Theirs.ID)
		add(v.Replaces...)
	case *objects.WorkingSet:
		add(v.Base, v.Index, v.Conflicts, v.MergeHead)
	}
	return ids
}

func TestReferences(t *testing.T) {
	for _, s := range samples() {
		got, err := objects.References(encodeValue(t, s.value).Data)
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
			continue
		}
		if want := wantReferences(s.value); !slices.Equal(got, want) {
			t.Errorf("%s: References = %v, want %v", s.name, got, want)
		}
		if slices.Contains(got, objects.ID{}) {
			t.Errorf("%s: References includes the zero ID", s.name)
		}
	}
}

// Spot checks that do not depend on wantReferences mirroring the code.
func TestReferencesByHand(t *testing.T) {
	a, b, c := fakeID(0xa), fakeID(0xb), fakeID(0xc)
	for _, tc := range []struct {
		name string
		v    any
		want []objects.ID
	}{
		{"blob", []byte("x"), nil},
		{"root commit with an empty index", &objects.Commit{Height: 1}, nil},
		{"merge commit", &objects.Commit{Index: a, Parents: []objects.ID{b, c}, Height: 2}, []objects.ID{a, b, c}},
		{"empty working set", &objects.WorkingSet{}, nil},
		{"working set with a merge head", &objects.WorkingSet{Index: a, MergeHead: b}, []objects.ID{a, b}},
		{"add/add conflict", &objects.Conflict{
			Key: "k", Ours: objects.Entry{ID: a, Kind: objects.KindText}, Theirs: objects.Entry{ID: b, Kind: objects.KindText},
			OursCommit: c, TheirsCommit: c, Winner: objects.SideOurs,
		}, []objects.ID{a, b}},
		// The same blob under two keys is listed twice: References does
		// not deduplicate.
		{"leaf sharing a blob", &objects.Node{Items: []objects.NodeItem{
			{Key: "x", Entry: objects.Entry{ID: a, Kind: objects.KindText}},
			{Key: "y", Entry: objects.Entry{ID: a, Kind: objects.KindText}},
		}}, []objects.ID{a, a}},
	} {
		got, err := objects.References(encodeValue(t, tc.v).Data)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: References = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestReferencesRejectsBadObjects(t *testing.T) {
	for _, tc := range []struct {
		data []byte
		err  error
	}{
		{nil, objects.ErrCorrupt},
		{[]byte{9, 1}, objects.ErrUnknownFormat},
		{raw(hdr(objects.TypeNode), byte(0), uv(0)), objects.ErrCorrupt},
		{raw(hdr(objects.TypeCommit), fakeID(1)), objects.ErrCorrupt},
	} {
		if refs, err := objects.References(tc.data); !errors.Is(err, tc.err) || refs != nil {
			t.Errorf("References(%x) = %v, %v; want %v", tc.data, refs, err, tc.err)
		}
	}
}

// Deleting in ReferenceRank order keeps every object's closure: whatever
// a sample references among the samples ranks after it (a conflict
// record's replaced records alongside it), and each kind ranks where a
// sweep needs it.
func TestReferenceRank(t *testing.T) {
	rank := map[objects.ID]uint64{}
	var all [][]byte
	for _, data := range sampleBytes(t, 0) {
		rank[objects.Hash(data)] = objects.ReferenceRank(data)
		all = append(all, data)
	}
	for _, data := range all {
		refs, err := objects.References(data)
		if err != nil {
			t.Fatal(err)
		}
		from := objects.ReferenceRank(data)
		for _, ref := range refs {
			to, ok := rank[ref]
			if ok && !(to > from || to == from && from == objects.ConflictRank) {
				t.Errorf("%s object ranks %#x, but references %s ranked %#x", objects.Type(data[0]), from, ref.Short(), to)
			}
		}
	}

	commit := func(height uint64) []byte {
		c := &objects.Commit{Height: height, Author: objects.Signature{Name: "a", Email: "a@b"}}
		if height > 1 {
			c.Parents = []objects.ID{fakeID(byte(height))}
		}
		return c.Encode().Data
	}
	node := func(level uint8) []byte {
		return (&objects.Node{Level: level, Items: []objects.NodeItem{{Key: "k", Entry: objects.Entry{ID: fakeID(1), Kind: objects.KindText, Size: 1}}}}).Encode().Data
	}
	chunked := (&objects.Chunked{Chunks: []objects.ChunkRef{{ID: fakeID(2), Size: 1 << 20}, {ID: fakeID(3), Size: 1}}}).Encode().Data
	// In the order a sweep deletes them.
	ordered := [][]byte{
		(&objects.WorkingSet{Base: fakeID(4)}).Encode().Data,
		commit(1 << 60), commit(300), commit(2), commit(1),
		node(40), node(2), node(1), node(0),
		sampleBytes(t, objects.TypeConflict)[0],
		chunked,
		objects.EncodeBlob([]byte("blob")).Data,
	}
	for i := 1; i < len(ordered); i++ {
		a, b := objects.ReferenceRank(ordered[i-1]), objects.ReferenceRank(ordered[i])
		if a >= b {
			t.Errorf("%s ranks %#x, not before the %s after it (%#x)", objects.Type(ordered[i-1][0]), a, objects.Type(ordered[i][0]), b)
		}
	}
	if got := objects.ReferenceRank(ordered[9]); got != objects.ConflictRank {
		t.Errorf("a conflict record ranks %#x, want ConflictRank", got)
	}
	for _, bad := range [][]byte{nil, {9, 1}, []byte("a blob with no header"), {byte(objects.TypeNode), objects.FormatVersion}} {
		if got := objects.ReferenceRank(bad); got != 0 {
			t.Errorf("ReferenceRank(%q) = %#x, want 0", bad, got)
		}
	}
}
