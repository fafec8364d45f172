package merge

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/rogpeppe/go-internal/txtar"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expectations in testdata/merge/index")

const indexCasesDir = "../testdata/merge/index"

// indexCase is one archive of testdata/merge/index.
type indexCase struct {
	winner             objects.Side // whose head commit is newer
	tie                bool         // both head commits have the same time
	unrelated          bool         // no base commit
	base, ours, theirs docs
	merged             docs
	conflicts          string
	hasExpectations    bool
}

// TestIndexCases runs the data-driven index merges in testdata/merge/index.
// Each .txtar file holds a description (its comment) and sections
//
//	base/KEY, ours/KEY, theirs/KEY   the documents of each commit; each side
//	                                 lists all its documents
//	merged/KEY                       the expected merged index, all of it
//	conflicts                        the expected conflicts, a line each:
//	                                 KEY winner=SIDE "path" "path"...
//
// The comment may hold option lines: "winner: ours" makes ours' head
// commit the newer one (theirs' is by default), "winner: tie" gives both
// the same time (the larger commit ID wins), and "base: none" makes the
// two sides unrelated root commits. Ours and theirs are commits on top of
// the base commit; the case runs Heads(ours, theirs) and checks the merged
// index, the conflicts map record by record, the merge with the sides
// swapped, and Converge. Run with -rewrite to regenerate merged/ and
// conflicts; then read the diff before committing it.
func TestIndexCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(indexCasesDir, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in %s: %v", indexCasesDir, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runIndexCase(t, file)
		})
	}
}

func parseIndexCase(t *testing.T, a *txtar.Archive) *indexCase {
	c := &indexCase{winner: objects.SideTheirs, base: docs{}, ours: docs{}, theirs: docs{}, merged: docs{}}
	for _, line := range strings.Split(string(a.Comment), "\n") {
		switch strings.TrimSpace(line) {
		case "winner: ours":
			c.winner = objects.SideOurs
		case "winner: theirs":
			c.winner = objects.SideTheirs
		case "winner: tie":
			c.tie = true
		case "base: none":
			c.unrelated = true
		}
	}
	for _, f := range a.Files {
		dir, key, _ := strings.Cut(f.Name, "/")
		switch dir {
		case "base":
			c.base[key] = string(f.Data)
		case "ours":
			c.ours[key] = string(f.Data)
		case "theirs":
			c.theirs[key] = string(f.Data)
		case "merged":
			c.merged[key] = string(f.Data)
			c.hasExpectations = true
		case "conflicts":
			c.conflicts = string(f.Data)
			c.hasExpectations = true
		default:
			t.Fatalf("unknown section %q", f.Name)
		}
	}
	if c.unrelated && len(c.base) > 0 {
		t.Fatal("base: none with base documents")
	}
	return c
}

func runIndexCase(t *testing.T, file string) {
	ctx := context.Background()
	a, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c := parseIndexCase(t, a)
	r := newMemRepo(t)

	var parents []objects.ID
	var baseID objects.ID
	if !c.unrelated {
		baseID = commitDocs(t, r, "base", 0, c.base)
		parents = []objects.ID{baseID}
	}
	oursAt, theirsAt := int64(10), int64(20)
	switch {
	case c.tie:
		oursAt = theirsAt
	case c.winner == objects.SideOurs:
		oursAt, theirsAt = theirsAt, oursAt
	}
	ours := commitDocs(t, r, "ours", oursAt, c.ours, parents...)
	theirs := commitDocs(t, r, "theirs", theirsAt, c.theirs, parents...)

	res, err := Heads(ctx, r, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Relation != Diverged {
		t.Fatalf("relation %v, want Diverged", res.Relation)
	}
	if want := parents; !slices.Equal(res.Bases, want) && !(len(res.Bases) == 0 && len(want) == 0) {
		t.Fatalf("bases %s, want %s", shorts(res.Bases), shorts(want))
	}
	merged := readDocs(t, r, res.Index)
	conflicts := formatConflicts(res.Conflicted)

	if *rewrite {
		a.Files = slices.DeleteFunc(a.Files, func(f txtar.File) bool {
			return strings.HasPrefix(f.Name, "merged/") || f.Name == "conflicts"
		})
		for _, k := range slices.Sorted(maps.Keys(merged)) {
			a.Files = append(a.Files, txtar.File{Name: "merged/" + k, Data: []byte(merged[k])})
		}
		a.Files = append(a.Files, txtar.File{Name: "conflicts", Data: []byte(conflicts)})
		if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		if !c.hasExpectations {
			t.Fatal("no expectations: run with -rewrite")
		}
		checkDocs(t, "merged index", merged, c.merged)
		if conflicts != c.conflicts {
			t.Errorf("conflicts:\n%s\nwant:\n%s", conflicts, c.conflicts)
		}
	}

	// The merged index is what building it from its documents gives:
	// the merge leaves no trace of how it got there.
	if fresh := writeIndex(t, r, merged); fresh != res.Index {
		t.Errorf("merged index root %s, a fresh index of the same documents is %s", res.Index.Short(), fresh.Short())
	}
	checkRecords(t, r, res, baseID)

	// Merging the other way round, with the same commit winning, gives
	// the same documents and the same conflicts.
	swapped, err := Heads(ctx, r, theirs, ours)
	if err != nil {
		t.Fatal(err)
	}
	swappedDocs := readDocs(t, r, swapped.Index)
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		if !sameContent([]byte(merged[k]), []byte(swappedDocs[k]), objects.DetectKind([]byte(merged[k])) == objects.KindJSON) {
			t.Errorf("sides swapped: %s is %q, not %q", k, swappedDocs[k], merged[k])
		}
	}
	if len(swappedDocs) != len(merged) {
		t.Errorf("sides swapped: %d documents, not %d", len(swappedDocs), len(merged))
	}
	if got, want := conflictKeysAndPaths(swapped.Conflicted), conflictKeysAndPaths(res.Conflicted); got != want {
		t.Errorf("sides swapped: conflicts\n%s\nnot\n%s", got, want)
	}
	checkRecords(t, r, swapped, baseID)

	// Converge makes a merge commit of one of the two merges, the same
	// whichever head comes first.
	id1, cres, err := Converge(ctx, r, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	id2, _, err := Converge(ctx, r, theirs, ours)
	if err != nil {
		t.Fatal(err)
	}
	if id1 != id2 {
		t.Errorf("Converge(ours, theirs) = %s, Converge(theirs, ours) = %s", id1.Short(), id2.Short())
	}
	mc := readCommit(t, r, id1)
	if mc.Index != cres.Index || mc.Conflicts != cres.Conflicts {
		t.Errorf("converge commit maps %s %s, merge result %s %s", mc.Index.Short(), mc.Conflicts.Short(), cres.Index.Short(), cres.Conflicts.Short())
	}
	if mc.Index != res.Index && mc.Index != swapped.Index {
		t.Errorf("converge commit index %s is neither merge's (%s, %s)", mc.Index.Short(), res.Index.Short(), swapped.Index.Short())
	}
}

// formatConflicts writes the conflicts of a merge as the conflicts section
// does.
func formatConflicts(cs []Conflicted) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%s winner=%s", c.Key, c.Winner)
		for _, p := range c.Paths {
			fmt.Fprintf(&b, " %s", strconv.Quote(p))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// conflictKeysAndPaths is formatConflicts without the winner side, which
// names the same commit by another side when the sides are swapped.
func conflictKeysAndPaths(cs []Conflicted) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%s %q\n", c.Key, c.Paths)
	}
	return b.String()
}

func checkDocs(t *testing.T, what string, got, want docs) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: %s missing, want %q", what, k, want[k])
		case g != want[k]:
			t.Errorf("%s: %s is\n%q\nwant\n%q", what, k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %s = %q", what, k, got[k])
		}
	}
}

// checkRecords checks the conflicts map of a merge whose heads had no
// conflicts of their own: one record per conflicted document, holding the
// whole base, ours and theirs entries, both head commits, the winner (the
// newer head commit, ties by larger ID) and the paths.
func checkRecords(t *testing.T, r *repo.Repo, res *Result, base objects.ID) {
	t.Helper()
	records := readConflicts(t, r, res.Conflicts)
	if len(records) != len(res.Conflicted) {
		t.Errorf("%d records in the conflicts map for %d conflicted documents", len(records), len(res.Conflicted))
	}
	var baseIndex objects.ID
	if !base.IsZero() {
		baseIndex = readCommit(t, r, base).Index
	}
	// The winner by definition: the newer head commit, ties by larger ID.
	wantWinner := objects.SideTheirs
	if o, th := res.Ours, res.Theirs; o.CommitTime.After(th.CommitTime) || (o.CommitTime.Equal(th.CommitTime) && o.Commit.Compare(th.Commit) > 0) {
		wantWinner = objects.SideOurs
	}
	for i, c := range res.Conflicted {
		if i > 0 && res.Conflicted[i-1].Key >= c.Key {
			t.Errorf("conflicted documents not in key order: %s after %s", c.Key, res.Conflicted[i-1].Key)
		}
		rec, ok := records[c.Key]
		if !ok {
			t.Errorf("%s: no record in the conflicts map", c.Key)
			continue
		}
		want := objects.Conflict{
			Key:          c.Key,
			Base:         lookup(t, r, baseIndex, c.Key),
			Ours:         lookup(t, r, res.Ours.Index, c.Key),
			Theirs:       lookup(t, r, res.Theirs.Index, c.Key),
			OursCommit:   res.Ours.Commit,
			TheirsCommit: res.Theirs.Commit,
			Winner:       wantWinner,
			Paths:        c.Paths,
		}
		if got := rec.Encode().ID; got != c.Record || got != want.Encode().ID {
			t.Errorf("%s: record %+v\nwant %+v", c.Key, *rec, want)
		}
		if c.Winner != wantWinner {
			t.Errorf("%s: Conflicted.Winner %s, want %s", c.Key, c.Winner, wantWinner)
		}
		if len(c.Paths) == 0 {
			t.Errorf("%s: conflicted with no paths", c.Key)
		}
	}
}
