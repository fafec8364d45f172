package merge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
)

func TestWinner(t *testing.T) {
	a := objects.Hash([]byte("a"))
	b := objects.Hash([]byte("b"))
	if a.Compare(b) > 0 {
		a, b = b, a // a < b
	}
	early, late := epoch, epoch.Add(time.Second)
	cases := []struct {
		name          string
		ours, theirs  Head
		want          objects.Side
		wantOtherSide objects.Side
	}{
		{"theirs newer", Head{Commit: b, CommitTime: early}, Head{Commit: a, CommitTime: late}, objects.SideTheirs, objects.SideOurs},
		{"ours newer", Head{Commit: a, CommitTime: late}, Head{Commit: b, CommitTime: early}, objects.SideOurs, objects.SideTheirs},
		{"tie, theirs larger ID", Head{Commit: a, CommitTime: early}, Head{Commit: b, CommitTime: early}, objects.SideTheirs, objects.SideOurs},
		{"tie, ours larger ID", Head{Commit: b, CommitTime: early}, Head{Commit: a, CommitTime: early}, objects.SideOurs, objects.SideTheirs},
		// The same instant in another zone is a tie, not a later time.
		{"tie across zones", Head{Commit: b, CommitTime: early.In(time.FixedZone("+0200", 7200))}, Head{Commit: a, CommitTime: early}, objects.SideOurs, objects.SideTheirs},
	}
	for _, tc := range cases {
		if got := Winner(tc.ours, tc.theirs); got != tc.want {
			t.Errorf("%s: Winner = %s, want %s", tc.name, got, tc.want)
		}
		if got := Winner(tc.theirs, tc.ours); got != tc.wantOtherSide {
			t.Errorf("%s, swapped: Winner = %s, want %s", tc.name, got, tc.wantOtherSide)
		}
	}
}

func TestHeadsRelations(t *testing.T) {
	ctx := context.Background()
	r := newMemRepo(t)
	base := commitDocs(t, r, "base", 0, docs{"a": "1\n"})
	next := commitDocs(t, r, "next", 1, docs{"a": "2\n"}, base)
	cases := []struct {
		name         string
		ours, theirs objects.ID
		want         Relation
		converged    objects.ID
	}{
		{"same commit", next, next, UpToDate, next},
		{"theirs is behind", next, base, UpToDate, next},
		{"ours is behind", base, next, FastForward, next},
	}
	for _, tc := range cases {
		res, err := Heads(ctx, r, tc.ours, tc.theirs)
		if err != nil {
			t.Fatal(err)
		}
		if res.Relation != tc.want {
			t.Errorf("%s: relation %d, want %d", tc.name, res.Relation, tc.want)
		}
		if res.Outcome != nil {
			t.Errorf("%s: a merge outcome for heads that need no merge", tc.name)
		}
		if res.Ours.Commit != tc.ours || res.Theirs.Commit != tc.theirs {
			t.Errorf("%s: heads %s %s", tc.name, res.Ours.Commit.Short(), res.Theirs.Commit.Short())
		}
		for _, order := range [][2]objects.ID{{tc.ours, tc.theirs}, {tc.theirs, tc.ours}} {
			id, _, err := Converge(ctx, r, order[0], order[1])
			if err != nil {
				t.Fatal(err)
			}
			if id != tc.converged {
				t.Errorf("%s: Converge = %s, want %s (no new commit)", tc.name, id.Short(), tc.converged.Short())
			}
		}
	}
}

// stage writes a commit on top of parent that sets (or, for a nil value,
// deletes) documents and sets or removes conflict records.
type stage struct {
	set     map[string]*string
	records map[string]*objects.Conflict // nil record: resolved (removed)
}

func str(s string) *string { return &s }

func commitStage(t *testing.T, r *repo.Repo, msg string, at int64, parent objects.ID, s stage) objects.ID {
	t.Helper()
	ctx := context.Background()
	pc := readCommit(t, r, parent)
	var edits []prolly.Edit
	for _, k := range sortedKeys(s.set) {
		if s.set[k] == nil {
			edits = append(edits, prolly.Edit{Key: k, Delete: true})
			continue
		}
		e, err := r.WriteDocumentBytes(ctx, []byte(*s.set[k]))
		if err != nil {
			t.Fatal(err)
		}
		edits = append(edits, prolly.Edit{Key: k, Entry: e})
	}
	index, err := r.Tree().Edit(ctx, pc.Index, edits)
	if err != nil {
		t.Fatal(err)
	}
	var recEdits []prolly.Edit
	for _, k := range sortedKeys(s.records) {
		if s.records[k] == nil {
			recEdits = append(recEdits, prolly.Edit{Key: k, Delete: true})
			continue
		}
		obj := s.records[k].Encode()
		if err := r.Store().Put(ctx, obj); err != nil {
			t.Fatal(err)
		}
		recEdits = append(recEdits, prolly.Edit{Key: k, Entry: objects.Entry{ID: obj.ID, Kind: objects.KindConflict, Size: uint64(len(obj.Data))}})
	}
	conflicts, err := r.Tree().Edit(ctx, pc.Conflicts, recEdits)
	if err != nil {
		t.Fatal(err)
	}
	return writeCommit(t, r, commitSpec{parents: []objects.ID{parent}, at: at, msg: msg, index: index, conflicts: conflicts})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// conflictedMerge returns a commit whose conflicts map holds a record for
// "k": a converging merge of two edits of it.
func conflictedMerge(t *testing.T, r *repo.Repo) (root, merged objects.ID) {
	t.Helper()
	root = commitDocs(t, r, "root", 0, docs{"k": "base\n", "other": "o\n"})
	x := commitDocs(t, r, "x", 1, docs{"k": "x\n", "other": "o\n"}, root)
	y := commitDocs(t, r, "y", 2, docs{"k": "y\n", "other": "o\n"}, root)
	merged, res, err := Converge(context.Background(), r, x, y)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conflicted) != 1 || res.Conflicted[0].Key != "k" {
		t.Fatalf("setup: conflicts %+v, want one on k", res.Conflicted)
	}
	return root, merged
}

// TestResolvedConflictStaysResolved: a record removed on one side (the
// conflict was resolved there) and untouched on the other stays removed
// after a merge, whichever side resolved it and whichever side wins.
func TestResolvedConflictStaysResolved(t *testing.T) {
	ctx := context.Background()
	for _, resolverWins := range []bool{false, true} {
		for _, resolverIsOurs := range []bool{false, true} {
			r := newMemRepo(t)
			_, m := conflictedMerge(t, r)
			resolvedAt, otherAt := int64(10), int64(20)
			if resolverWins {
				resolvedAt, otherAt = otherAt, resolvedAt
			}
			resolved := commitStage(t, r, "resolve k", resolvedAt, m, stage{
				set:     map[string]*string{"k": str("resolved\n")},
				records: map[string]*objects.Conflict{"k": nil},
			})
			other := commitStage(t, r, "edit other", otherAt, m, stage{
				set: map[string]*string{"other": str("changed\n")},
			})
			ours, theirs := other, resolved
			if resolverIsOurs {
				ours, theirs = resolved, other
			}
			res, err := Heads(ctx, r, ours, theirs)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Conflicted) != 0 {
				t.Errorf("resolver wins %v, is ours %v: new conflicts %+v", resolverWins, resolverIsOurs, res.Conflicted)
			}
			if recs := readConflicts(t, r, res.Conflicts); len(recs) != 0 {
				t.Errorf("resolver wins %v, is ours %v: the resolved record came back: %v", resolverWins, resolverIsOurs, sortedKeys(recs))
			}
			want := docs{"k": "resolved\n", "other": "changed\n"}
			checkDocs(t, "merged", readDocs(t, r, res.Index), want)
		}
	}
}

// TestOpenConflictsCarriedOver: a record that one side added (by its own
// merge) and the other side never had is kept; a record both sides still
// hold untouched is kept.
func TestOpenConflictsCarriedOver(t *testing.T) {
	ctx := context.Background()
	r := newMemRepo(t)
	root, m := conflictedMerge(t, r)
	mrec := readConflicts(t, r, readCommit(t, r, m).Conflicts)["k"]

	// A branch from before the conflict, with an unrelated change.
	side := commitDocs(t, r, "side", 5, docs{"k": "base\n", "other": "o\n", "new": "n\n"}, root)
	for _, order := range [][2]objects.ID{{m, side}, {side, m}} {
		res, err := Heads(ctx, r, order[0], order[1])
		if err != nil {
			t.Fatal(err)
		}
		recs := readConflicts(t, r, res.Conflicts)
		if got := recs["k"]; len(recs) != 1 || got == nil || got.Encode().ID != mrec.Encode().ID {
			t.Errorf("the open record on k was not carried over: %v", sortedKeys(recs))
		}
	}

	// Both sides keep the record; each edits something else.
	a := commitStage(t, r, "a", 10, m, stage{set: map[string]*string{"other": str("a\n")}})
	b := commitStage(t, r, "b", 11, m, stage{set: map[string]*string{"new": str("b\n")}})
	res, err := Heads(ctx, r, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if recs := readConflicts(t, r, res.Conflicts); len(recs) != 1 || recs["k"].Encode().ID != mrec.Encode().ID {
		t.Errorf("the record both sides kept changed: %v", sortedKeys(recs))
	}
}

// TestCrissCrossVirtualBase: with two merge bases, the index merge runs
// against a virtual base that holds the changes both bases share, so a
// document changed in one base and again on one side merges cleanly. With
// either real base alone one of the two documents would conflict.
func TestCrissCrossVirtualBase(t *testing.T) {
	ctx := context.Background()
	r := newMemRepo(t)
	//   R - B1 - M1 - H1
	//    \    \ /
	//     \    X
	//      \  / \
	//       B2 - M2 - H2
	R := commitDocs(t, r, "R", 0, docs{"j": "j0\n", "k": "k0\n", "same": "s\n"})
	B1 := commitDocs(t, r, "B1", 1, docs{"j": "j1\n", "k": "k0\n", "same": "s\n"}, R)
	B2 := commitDocs(t, r, "B2", 2, docs{"j": "j0\n", "k": "k1\n", "same": "s\n"}, R)
	merged := docs{"j": "j1\n", "k": "k1\n", "same": "s\n"}
	M1 := commitDocs(t, r, "M1", 3, merged, B1, B2)
	M2 := commitDocs(t, r, "M2", 4, merged, B2, B1)
	// H1 changes k again (B2's change), H2 changes j again (B1's).
	H1 := commitDocs(t, r, "H1", 5, docs{"j": "j1\n", "k": "k2\n", "same": "s\n"}, M1)
	H2 := commitDocs(t, r, "H2", 6, docs{"j": "j2\n", "k": "k1\n", "same": "s\n"}, M2)

	res, err := Heads(ctx, r, H1, H2)
	if err != nil {
		t.Fatal(err)
	}
	want := []objects.ID{B1, B2}
	slices.SortFunc(want, objects.ID.Compare)
	if !slices.Equal(res.Bases, want) {
		t.Fatalf("bases %s, want B1 and B2", shorts(res.Bases))
	}
	if len(res.Conflicted) != 0 {
		t.Errorf("spurious conflicts: %+v", res.Conflicted)
	}
	checkDocs(t, "merged", readDocs(t, r, res.Index), docs{"j": "j2\n", "k": "k2\n", "same": "s\n"})

	// The converging merge commit names the two heads only, never the
	// virtual base.
	id, _, err := Converge(ctx, r, H1, H2)
	if err != nil {
		t.Fatal(err)
	}
	c := readCommit(t, r, id)
	wantParents := []objects.ID{H1, H2}
	slices.SortFunc(wantParents, objects.ID.Compare)
	if !slices.Equal(c.Parents, wantParents) {
		t.Errorf("merge parents %s, want the two heads", shorts(c.Parents))
	}
	if c.Height != 5 {
		t.Errorf("merge height %d, want 5", c.Height)
	}
}

// TestTripleCrissCross: three merge bases are merged into one virtual base
// (recursively, in ID order); the heads' own changes then merge cleanly.
func TestTripleCrissCross(t *testing.T) {
	ctx := context.Background()
	r := newMemRepo(t)
	R := commitDocs(t, r, "R", 0, docs{"a": "a0\n", "b": "b0\n", "c": "c0\n"})
	B1 := commitDocs(t, r, "B1", 1, docs{"a": "a1\n", "b": "b0\n", "c": "c0\n"}, R)
	B2 := commitDocs(t, r, "B2", 2, docs{"a": "a0\n", "b": "b2\n", "c": "c0\n"}, R)
	B3 := commitDocs(t, r, "B3", 3, docs{"a": "a0\n", "b": "b0\n", "c": "c3\n"}, R)
	P1 := commitDocs(t, r, "P1", 4, docs{"a": "a1\n", "b": "b2\n", "c": "c0\n"}, B1, B2)
	P2 := commitDocs(t, r, "P2", 5, docs{"a": "a0\n", "b": "b2\n", "c": "c3\n"}, B3, B2)
	// H1 holds all three changes and changes a again; H2 holds all three
	// and changes c again.
	H1 := commitDocs(t, r, "H1", 6, docs{"a": "a1'\n", "b": "b2\n", "c": "c3\n"}, P1, B3)
	H2 := commitDocs(t, r, "H2", 7, docs{"a": "a1\n", "b": "b2\n", "c": "c3'\n"}, P2, B1)
	res, err := Heads(ctx, r, H1, H2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bases) != 3 {
		t.Fatalf("bases %s, want B1, B2 and B3", shorts(res.Bases))
	}
	if len(res.Conflicted) != 0 {
		t.Errorf("spurious conflicts: %+v", res.Conflicted)
	}
	checkDocs(t, "merged", readDocs(t, r, res.Index), docs{"a": "a1'\n", "b": "b2\n", "c": "c3'\n"})
}

func TestIndexesErrors(t *testing.T) {
	ctx := context.Background()
	r := newMemRepo(t)
	base := commitDocs(t, r, "base", 0, docs{"k": "base\n"})
	ours := commitDocs(t, r, "ours", 1, docs{"k": "ours\n"}, base)
	// Theirs' document blob is missing from the store.
	e := objects.Entry{ID: objects.Hash([]byte("missing blob")), Kind: objects.KindText, Size: 7}
	index, err := r.Tree().Edit(ctx, objects.ID{}, []prolly.Edit{{Key: "k", Entry: e}})
	if err != nil {
		t.Fatal(err)
	}
	theirs := writeCommit(t, r, commitSpec{parents: []objects.ID{base}, at: 2, msg: "theirs", index: index})
	if _, err := Heads(ctx, r, ours, theirs); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("merge with a missing blob: %v, want ErrNotFound", err)
	}
	if _, err := Heads(ctx, r, ours, objects.Hash([]byte("no commit"))); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("merge with a missing commit: %v, want ErrNotFound", err)
	}
}

// TestRepeatedConflictKeepsEveryLosingVersion checks invariant 6 ("a
// conflict keeps every losing version") when three leaders edit the same
// document: after merging A with B and then the result with C, the head's
// conflicts map should still hold A's, B's and C's versions.
func TestRepeatedConflictKeepsEveryLosingVersion(t *testing.T) {
	ctx := context.Background()
	r := newMemRepo(t)
	root := commitDocs(t, r, "root", 0, docs{"k": "base\n"})
	a := commitDocs(t, r, "a", 1, docs{"k": "from a\n"}, root)
	b := commitDocs(t, r, "b", 2, docs{"k": "from b\n"}, root)
	c := commitDocs(t, r, "c", 3, docs{"k": "from c\n"}, root)
	ab, _, err := Converge(ctx, r, a, b)
	if err != nil {
		t.Fatal(err)
	}
	abc, _, err := Converge(ctx, r, ab, c)
	if err != nil {
		t.Fatal(err)
	}
	// Versions are kept by the records in the map and, through their
	// Replaces, by the records those superseded.
	kept := map[objects.ID]bool{}
	var keep func(rec *objects.Conflict)
	keep = func(rec *objects.Conflict) {
		kept[rec.Base.ID], kept[rec.Ours.ID], kept[rec.Theirs.ID] = true, true, true
		for _, id := range rec.Replaces {
			data, err := r.Store().Get(ctx, id)
			if err != nil {
				t.Fatalf("replaced record %s: %v", id.Short(), err)
			}
			old, err := objects.DecodeConflict(data)
			if err != nil {
				t.Fatal(err)
			}
			keep(old)
		}
	}
	for _, rec := range readConflicts(t, r, readCommit(t, r, abc).Conflicts) {
		keep(rec)
	}
	head := readCommit(t, r, abc)
	kept[lookup(t, r, head.Index, "k").ID] = true
	for _, v := range []objects.ID{a, b, c} {
		e := lookup(t, r, readCommit(t, r, v).Index, "k")
		if !kept[e.ID] {
			content, _ := r.ReadDocument(ctx, e)
			t.Errorf("version %q of k is neither in the head nor in its conflict records", content)
		}
	}
}

// TestLargeDocuments merges documents stored in chunks: over
// repo.SingleBlobMax they merge by content like any other; over
// MaxMergeSize they conflict whole and the winner's version stands
// without being read.
func TestLargeDocuments(t *testing.T) {
	ctx := context.Background()
	lines := func(n int, first, last string) string {
		var b strings.Builder
		b.WriteString(first + "\n")
		for i := range n {
			fmt.Fprintf(&b, "line %d of a long document\n", i)
		}
		b.WriteString(last + "\n")
		return b.String()
	}
	t.Run("chunked, merged by content", func(t *testing.T) {
		r := newMemRepo(t)
		n := 2 * repo.SingleBlobMax / 27
		base := commitDocs(t, r, "base", 0, docs{"big.txt": lines(n, "first", "last")})
		ours := commitDocs(t, r, "ours", 1, docs{"big.txt": lines(n, "FIRST", "last")}, base)
		theirs := commitDocs(t, r, "theirs", 2, docs{"big.txt": lines(n, "first", "LAST")}, base)
		res, err := Heads(ctx, r, ours, theirs)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Conflicted) != 0 {
			t.Fatalf("conflicts %+v", res.Conflicted)
		}
		e := lookup(t, r, res.Index, "big.txt")
		if e.Size <= repo.SingleBlobMax || e.Kind != objects.KindText {
			t.Errorf("merged entry %+v, want a chunked text document", e)
		}
		checkDocs(t, "merged", readDocs(t, r, res.Index), docs{"big.txt": lines(n, "FIRST", "LAST")})
	})
	// Issue 7: over MaxMergeSize the document conflicted whole and the
	// merge kept theirs only, losing our edit of the first line.
	t.Run("over MaxMergeSize, still merged by line", func(t *testing.T) {
		if testing.Short() {
			t.Skip("writes three 32 MiB documents")
		}
		r := newMemRepo(t)
		n := MaxMergeSize/27 + 1000
		base := commitDocs(t, r, "base", 0, docs{"huge.txt": lines(n, "first", "last")})
		ours := commitDocs(t, r, "ours", 1, docs{"huge.txt": lines(n, "FIRST", "last")}, base)
		theirs := commitDocs(t, r, "theirs", 2, docs{"huge.txt": lines(n, "first", "LAST")}, base)
		res, err := Heads(ctx, r, ours, theirs)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Conflicted) != 0 {
			t.Fatalf("conflicts %+v, want a clean merge", res.Conflicted)
		}
		e := lookup(t, r, res.Index, "huge.txt")
		if e.Size <= MaxMergeSize || e.Kind != objects.KindText {
			t.Errorf("merged entry %+v", e)
		}
		got, err := r.ReadDocument(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if want := lines(n, "FIRST", "LAST"); string(got) != want {
			t.Errorf("merged document (%d bytes) is not both edits (%d bytes)", len(got), len(want))
		}
	})
}

// TestResolvedConflictStaysResolvedInCrissCross: two leaders merged the
// same criss-crossed pair B1 and B2, which conflict on k. H1's merge
// (made by a person with the larger ID as ours) kept the conflict open;
// H2's resolved it by hand. Merging H1 and H2 takes the resolution for the
// document, and its record must go too: H1 never touched it. The virtual
// base holds its own record of the same conflict, with the sides in ID
// order, so H1's record looks changed against it, and when H1 wins the
// stale record comes back.
func TestResolvedConflictStaysResolvedInCrissCross(t *testing.T) {
	ctx := context.Background()
	now := epoch.Add(3 * time.Second) // M1's commit time
	r := clockRepo(t, &now)
	R := commitDocs(t, r, "R", 0, docs{"k": "base\n", "o": "o\n"})
	B1 := commitDocs(t, r, "B1", 1, docs{"k": "b1\n", "o": "o\n"}, R)
	B2 := commitDocs(t, r, "B2", 2, docs{"k": "b2\n", "o": "o\n"}, R)
	big, small := B1, B2
	if big.Compare(small) < 0 {
		big, small = small, big
	}
	res, err := Heads(ctx, r, big, small)
	if err != nil {
		t.Fatal(err)
	}
	M1, err := Commit(ctx, r, res, CommitOptions{Author: tester, Time: epoch.Add(3 * time.Second), Message: "M1"})
	if err != nil {
		t.Fatal(err)
	}
	M2 := commitDocs(t, r, "M2", 4, docs{"k": "resolved\n", "o": "o\n"}, small, big)
	H1 := commitStage(t, r, "H1", 10, M1, stage{set: map[string]*string{"o": str("h1\n")}}) // newer: wins
	H2 := commitStage(t, r, "H2", 5, M2, stage{set: map[string]*string{"x": str("x\n")}})
	out, err := Heads(ctx, r, H1, H2)
	if err != nil {
		t.Fatal(err)
	}
	checkDocs(t, "merged", readDocs(t, r, out.Index), docs{"k": "resolved\n", "o": "h1\n", "x": "x\n"})
	if recs := readConflicts(t, r, out.Conflicts); len(recs) != 0 {
		t.Errorf("records %v after merging a resolution: the conflict on k came back", sortedKeys(recs))
	}
}
