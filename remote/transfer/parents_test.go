package transfer

import (
	"context"
	"slices"
	"testing"

	"github.com/folio-db/folio/objects"
)

// parentMaps.fits vouches for a child only where the stored map holds it
// the same way: same level, item (last key, ID, count) and key before
// it, ending its level there only if it ends it here, in a map of the
// same role. Each other case must be read and checked by Walk.
func TestParentMapsFitOnlyWhereTheyHoldTheSameItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRepo(t, false)
	stage(t, r, someDocs(5000, "v1"))
	c, err := readCommit(ctx, r.Store(), commit(t, r, "base"))
	if err != nil {
		t.Fatal(err)
	}
	p := newParentMaps(r.Store())
	p.add(c.Index, objects.ID{})
	root, err := p.nodes.read(ctx, c.Index)
	if err != nil {
		t.Fatal(err)
	}
	last := len(root.Items) - 1
	if root.Level == 0 || last < 2 {
		t.Fatalf("want a root above the leaves with 3 children or more, got level %d with %d", root.Level, last+1)
	}
	recounted := &objects.Node{Level: root.Level, Items: slices.Clone(root.Items)}
	recounted.Items[1].Entry.Size++
	higher := &objects.Node{Level: root.Level + 1, Items: root.Items}
	for name, tc := range map[string]struct {
		role        role
		n           *objects.Node
		i           int
		lo          string
		lastOfLevel bool
		want        bool
	}{
		"the first child as it sits":            {roleIndex, root, 0, "", false, true},
		"a child as it sits":                    {roleIndex, root, 1, root.Items[0].Key, false, true},
		"a child that ends its level here only": {roleIndex, root, 1, root.Items[0].Key, true, true},
		"the last child as it sits":             {roleIndex, root, last, root.Items[last-1].Key, true, true},
		"another key before it":                 {roleIndex, root, 2, root.Items[0].Key, false, false},
		"another count":                         {roleIndex, recounted, 1, root.Items[0].Key, false, false},
		"the last child, not the last here":     {roleIndex, root, last, root.Items[last-1].Key, false, false},
		"in a conflicts map":                    {roleConflicts, root, 1, root.Items[0].Key, false, false},
		"a level up":                            {roleIndex, higher, 1, root.Items[0].Key, false, false},
	} {
		if got := p.fits(ctx, tc.role, tc.n, tc.i, tc.lo, tc.lastOfLevel); got != tc.want {
			t.Errorf("%s: fits %v, want %v", name, got, tc.want)
		}
	}
}
