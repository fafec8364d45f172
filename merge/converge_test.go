package merge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
)

// convergeHistory writes, into r, two heads whose merge exercises every
// kind of document merge and a criss-cross (so a virtual base), and
// returns them.
func convergeHistory(t testing.TB, r *repo.Repo) (a, b objects.ID) {
	t.Helper()
	base := docs{
		"notes.txt":  "one\ntwo\nthree\nfour\nfive\n",
		"app.json":   "{\n  \"version\": \"1.0\",\n  \"stars\": 1,\n  \"owner\": \"ada\"\n}\n",
		"logo.bin":   "\x00logo",
		"doomed.txt": "delete me?\n",
		"keep.txt":   "keep\n",
	}
	R := commitDocs(t, r, "R", 0, base)
	B1 := commitDocs(t, r, "B1", 1, with(base, "keep.txt", "kept by B1\n"), R)
	B2 := commitDocs(t, r, "B2", 2, with(base, "extra.txt", "from B2\n"), R)
	crossed := with(with(base, "keep.txt", "kept by B1\n"), "extra.txt", "from B2\n")
	M1 := commitDocs(t, r, "M1", 3, crossed, B1, B2)
	M2 := commitDocs(t, r, "M2", 4, crossed, B2, B1)
	ours := with(crossed, "notes.txt", "ONE\ntwo\nthree (a)\nfour\nfive\n")
	ours = with(ours, "app.json", "{\n  \"version\": \"1.1\",\n  \"stars\": 1,\n  \"owner\": \"grace\"\n}\n")
	ours = with(ours, "logo.bin", "\x00logo a")
	delete(ours, "doomed.txt")
	theirs := with(crossed, "notes.txt", "one\ntwo\nthree (b)\nfour\nFIVE\n")
	theirs = with(theirs, "app.json", "{\n  \"version\": \"2.0\",\n  \"stars\": 2,\n  \"owner\": \"ada\"\n}\n")
	theirs = with(theirs, "logo.bin", "\x00logo b")
	theirs = with(theirs, "doomed.txt", "changed, not deleted\n")
	a = commitDocs(t, r, "A", 5, ours, M1)
	b = commitDocs(t, r, "B", 5, theirs, M2) // the same time: the larger ID wins
	return a, b
}

// with returns a copy of d with key set to content.
func with(d docs, key, content string) docs {
	out := docs{}
	for k, v := range d {
		out[k] = v
	}
	out[key] = content
	return out
}

// convergeBothWays converges a and b, then b and a, and checks that both
// calls make the same commit from the same maps.
func convergeBothWays(t *testing.T, r *repo.Repo, a, b objects.ID) (objects.ID, *Result) {
	t.Helper()
	ctx := context.Background()
	id1, res1, err := Converge(ctx, r, a, b)
	if err != nil {
		t.Fatal(err)
	}
	id2, res2, err := Converge(ctx, r, b, a)
	if err != nil {
		t.Fatal(err)
	}
	if id1 != id2 {
		t.Fatalf("Converge(a, b) = %s, Converge(b, a) = %s", id1.Short(), id2.Short())
	}
	if res1.Index != res2.Index || res1.Conflicts != res2.Conflicts {
		t.Errorf("the two calls merged to different maps")
	}
	return id1, res1
}

// TestConvergeCommit checks the converging merge commit: the same commit
// whichever head is given first, its parents sorted, the later parent's
// time, MergeAuthor, a message built from the inputs, and the merge
// itself is Heads with the smaller ID as ours.
func TestConvergeCommit(t *testing.T) {
	r := newMemRepo(t)
	a, b := convergeHistory(t, r)
	id1, res1 := convergeBothWays(t, r, a, b)
	lo, hi := a, b
	if hi.Compare(lo) < 0 {
		lo, hi = hi, lo
	}
	if res1.Ours.Commit != lo || res1.Theirs.Commit != hi {
		t.Errorf("ours %s theirs %s: the smaller ID must be ours", res1.Ours.Commit.Short(), res1.Theirs.Commit.Short())
	}
	c := readCommit(t, r, id1)
	if !slices.Equal(c.Parents, []objects.ID{lo, hi}) {
		t.Errorf("parents %s, want sorted heads", shorts(c.Parents))
	}
	later := readCommit(t, r, a).CommitTime
	if bt := readCommit(t, r, b).CommitTime; bt.After(later) {
		later = bt
	}
	if !c.Time.Equal(later) || !c.CommitTime.Equal(later) || c.Author != MergeAuthor {
		t.Errorf("time %v, commit time %v, author %v; want %v, %v and %v", c.Time, c.CommitTime, c.Author, later, later, MergeAuthor)
	}
	if want := ConvergeMessage(lo, hi, res1.Conflicted); c.Message != want {
		t.Errorf("message %q, want %q", c.Message, want)
	}
	for _, k := range []string{"app.json", "doomed.txt", "logo.bin", "notes.txt"} {
		if !strings.Contains(c.Message, "\t"+k+"\n") {
			t.Errorf("message does not list the conflict on %s:\n%s", k, c.Message)
		}
	}
	// The winner is the larger ID (the times tie); the loser's clean
	// changes are kept.
	merged := readDocs(t, r, c.Index)
	if hi == b {
		checkDocs(t, "merged", merged, docs{
			"notes.txt":  "ONE\ntwo\nthree (b)\nfour\nFIVE\n",
			"app.json":   "{\n  \"version\": \"2.0\",\n  \"stars\": 2,\n  \"owner\": \"grace\"\n}\n",
			"logo.bin":   "\x00logo b",
			"doomed.txt": "changed, not deleted\n",
			"keep.txt":   "kept by B1\n",
			"extra.txt":  "from B2\n",
		})
	} else {
		checkDocs(t, "merged", merged, docs{
			"notes.txt": "ONE\ntwo\nthree (a)\nfour\nFIVE\n",
			"app.json":  "{\n  \"version\": \"1.1\",\n  \"stars\": 2,\n  \"owner\": \"grace\"\n}\n",
			"logo.bin":  "\x00logo a",
			"keep.txt":  "kept by B1\n",
			"extra.txt": "from B2\n",
		})
	}
}

// TestConvergeSeparateRepositories: two leaders with their own Badger
// stores that hold the same objects merge the same two heads, in opposite
// orders, into byte-identical commits, and end with exactly the same set
// of objects (virtual bases, merged documents and records included).
func TestConvergeSeparateRepositories(t *testing.T) {
	ctx := context.Background()
	r1 := newDiskRepo(t)
	r2 := newDiskRepo(t)
	a, b := convergeHistory(t, r1)
	copyObjects(t, r2.Store(), r1.Store())

	id2, _, err := Converge(ctx, r2, b, a)
	if err != nil {
		t.Fatal(err)
	}
	id1, _, err := Converge(ctx, r1, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if id1 != id2 {
		t.Fatalf("leader 1 made %s, leader 2 made %s", id1.Short(), id2.Short())
	}
	data1, err := r1.Store().Get(ctx, id1)
	if err != nil {
		t.Fatal(err)
	}
	data2, err := r2.Store().Get(ctx, id2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data1, data2) {
		t.Fatal("the merge commits differ in bytes")
	}
	if ids1, ids2 := objectIDs(t, r1), objectIDs(t, r2); !slices.Equal(ids1, ids2) {
		t.Errorf("leader 1 holds %d objects, leader 2 %d: the merges wrote different objects", len(ids1), len(ids2))
	}
	checkClosure(t, r1, id1)
	checkClosure(t, r2, id1)
	checkDocs(t, "leader 2's merge", readDocs(t, r2, readCommit(t, r2, id1).Index), readDocs(t, r1, readCommit(t, r1, id1).Index))
}

func objectIDs(t testing.TB, r *repo.Repo) []objects.ID {
	t.Helper()
	var ids []objects.ID
	err := r.Store().Objects(context.Background(), nil, func(id objects.ID, _ []byte) error {
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// checkClosure points a branch at head and runs fsck: every object the
// commit needs (parents, maps, documents, conflict records) is stored.
func checkClosure(t testing.TB, r *repo.Repo, head objects.ID) {
	t.Helper()
	ctx := context.Background()
	name := objects.BranchPrefix + "closure-check"
	old, err := r.RefOrZero(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: name, Old: old, New: head}); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Fsck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("fsck: %+v", rep.Problems)
	}
}

// leader is one replica in the convergence property test.
type leader struct {
	name string
	r    *repo.Repo
	head objects.ID
	own  map[string]string // last content written to this leader's own keys ("" = deleted)
}

// TestConvergeRandom is the convergence property: several leaders make
// random edits (text, JSON and binary documents, on shared keys so that
// they conflict and on keys of their own), and sync pairwise in a random
// order: one way (a leader copies the other's objects and converges the two
// heads) or two ways (both do, each in its own store).
// Then they sync until they have one head. All must end on the same head,
// with the same documents in every store; every commit made is an ancestor
// of it; each leader's own keys hold its last write; and whenever two
// leaders merged the same pair of heads they made the same commit.
func TestConvergeRandom(t *testing.T) {
	var st convergeStats
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { convergeRandom(t, seed, &st) })
	}
	// The runs must have met what the test is about, or it proves little.
	if st.conflicted == 0 || st.criss == 0 || st.clean == 0 || st.repeated == 0 {
		t.Errorf("merges: %+v; want some clean, some conflicting, some criss-cross and some pairs merged twice", st)
	}
	t.Logf("merges: %+v", st)
}

// convergeStats counts the kinds of merges the random runs made.
type convergeStats struct{ clean, conflicted, criss, fastForward, repeated int }

func convergeRandom(t *testing.T, seed uint64, st *convergeStats) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0xc0417e6e))
	n := 3 + rng.IntN(2)
	leaders := make([]*leader, n)
	for i := range leaders {
		leaders[i] = &leader{name: fmt.Sprint("leader", i), r: newMemRepo(t), own: map[string]string{}}
	}
	shared := []string{"shared/a.txt", "shared/b.txt", "shared/c.json", "shared/d.json", "shared/e.bin"}
	initial := docs{}
	for _, k := range shared {
		initial[k] = newContent(k, rng, "init")
	}
	root := commitDocs(t, leaders[0].r, "root", 0, initial)
	for _, l := range leaders {
		copyObjects(t, l.r.Store(), leaders[0].r.Store())
		l.head = root
	}

	made := []objects.ID{root}
	merged := map[[2]objects.ID]objects.ID{} // sorted pair of heads -> converged head
	// converge merges srcHead, whose objects dst already has, into dst.
	converge := func(dst *leader, srcHead objects.ID) {
		pair := [2]objects.ID{dst.head, srcHead}
		slices.SortFunc(pair[:], objects.ID.Compare)
		id, res, err := Converge(ctx, dst.r, dst.head, srcHead)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case res.Relation != Diverged:
			st.fastForward++
		case len(res.Conflicted) > 0:
			st.conflicted++
		default:
			st.clean++
		}
		if len(res.Bases) > 1 {
			st.criss++
		}
		prev, ok := merged[pair]
		if ok && res.Relation == Diverged {
			st.repeated++
		}
		if ok && prev != id {
			t.Fatalf("seed %d: heads %s and %s converged to %s before and to %s now", seed, pair[0].Short(), pair[1].Short(), prev.Short(), id.Short())
		}
		merged[pair] = id
		dst.head = id
		made = append(made, id)
	}

	for step := range 60 {
		l := leaders[rng.IntN(n)]
		if rng.IntN(5) < 3 {
			id := randomEdit(t, rng, l, shared, int64(step/3)) // step/3: some times tie
			l.head = id
			made = append(made, id)
			continue
		}
		other := leaders[rng.IntN(n)]
		if other == l {
			continue
		}
		// A two-way sync: the leaders swap objects, then each merges the
		// other's head in its own store, and both must make the same
		// commit.
		lHead, otherHead := l.head, other.head
		copyObjects(t, l.r.Store(), other.r.Store())
		if rng.IntN(2) == 0 {
			copyObjects(t, other.r.Store(), l.r.Store())
			converge(l, otherHead)
			converge(other, lHead)
			if l.head != other.head {
				t.Fatalf("seed %d: a two-way sync of %s and %s gave %s and %s", seed, lHead.Short(), otherHead.Short(), l.head.Short(), other.head.Short())
			}
		} else {
			converge(l, otherHead)
		}
	}
	// Sync around the ring until every leader has the same head.
	for round := 0; ; round++ {
		if round > 3*n {
			t.Fatalf("seed %d: no single head after %d rounds of syncs", seed, round)
		}
		same := true
		for _, l := range leaders[1:] {
			same = same && l.head == leaders[0].head
		}
		if same {
			break
		}
		for i, l := range leaders {
			prev := leaders[(i+n-1)%n]
			copyObjects(t, l.r.Store(), prev.r.Store())
			converge(l, prev.head)
		}
	}

	final := leaders[0].head
	want := readDocs(t, leaders[0].r, readCommit(t, leaders[0].r, final).Index)
	for _, l := range leaders {
		got := readDocs(t, l.r, readCommit(t, l.r, final).Index)
		checkDocs(t, fmt.Sprintf("seed %d: %s", seed, l.name), got, want)
		checkClosure(t, l.r, final)
		for k, v := range l.own {
			if got[k] != v {
				t.Errorf("seed %d: %s's own key %s is %q, its last write was %q", seed, l.name, k, got[k], v)
			}
		}
	}
	for _, id := range made {
		ok, err := IsAncestor(ctx, leaders[0].r, id, final)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("seed %d: commit %s was made but is not in the final head's history", seed, id.Short())
		}
	}
}

// randomEdit commits one to three random changes on l's head.
func randomEdit(t *testing.T, rng *rand.Rand, l *leader, shared []string, at int64) objects.ID {
	t.Helper()
	ctx := context.Background()
	head := readCommit(t, l.r, l.head)
	tag := fmt.Sprintf("%s@%d", l.name, at)
	changes := map[string]*string{}
	for range 1 + rng.IntN(3) {
		var key string
		if rng.IntN(3) == 0 {
			key = fmt.Sprintf("own/%s/%d.txt", l.name, rng.IntN(3))
		} else {
			key = shared[rng.IntN(len(shared))]
		}
		cur := lookup(t, l.r, head.Index, key)
		var content []byte
		if !cur.ID.IsZero() {
			var err error
			if content, err = l.r.ReadDocument(ctx, cur); err != nil {
				t.Fatal(err)
			}
		}
		if p, ok := changes[key]; ok {
			if p == nil {
				continue
			}
			content = []byte(*p)
		}
		var next *string
		switch {
		case rng.IntN(8) == 0 && content != nil:
			next = nil // delete
		case content == nil:
			next = str(newContent(key, rng, tag))
		default:
			next = str(editContent(key, content, rng, tag))
		}
		changes[key] = next
		if strings.HasPrefix(key, "own/") {
			if next == nil {
				l.own[key] = ""
			} else {
				l.own[key] = *next
			}
		}
	}
	var edits []prolly.Edit
	for _, k := range sortedKeys(changes) {
		if changes[k] == nil {
			edits = append(edits, prolly.Edit{Key: k, Delete: true})
			continue
		}
		e, err := l.r.WriteDocumentBytes(ctx, []byte(*changes[k]))
		if err != nil {
			t.Fatal(err)
		}
		edits = append(edits, prolly.Edit{Key: k, Entry: e})
	}
	index, err := l.r.Tree().Edit(ctx, head.Index, edits)
	if err != nil {
		t.Fatal(err)
	}
	return writeCommit(t, l.r, commitSpec{parents: []objects.ID{l.head}, at: at, msg: tag,
		index: index, conflicts: head.Conflicts, author: objects.Signature{Name: l.name, Email: l.name + "@example.com"}})
}

// newContent makes a document of the kind its key's extension names.
func newContent(key string, rng *rand.Rand, tag string) string {
	switch {
	case strings.HasSuffix(key, ".json"):
		fields := map[string]string{}
		for i := range 5 {
			fields[fmt.Sprint("f", i)] = tag
		}
		return jsonDoc(fields)
	case strings.HasSuffix(key, ".bin"):
		return fmt.Sprintf("\x00%s %d", tag, rng.IntN(1000))
	}
	var b strings.Builder
	for i := range 8 {
		fmt.Fprintf(&b, "line %d %s\n", i, tag)
	}
	return b.String()
}

// editContent changes one part of a document: a line of a text, a field
// of a JSON object, the whole of a binary.
func editContent(key string, content []byte, rng *rand.Rand, tag string) string {
	switch {
	case strings.HasSuffix(key, ".json"):
		fields := map[string]string{}
		if err := json.Unmarshal(content, &fields); err != nil {
			return newContent(key, rng, tag)
		}
		f := fmt.Sprint("f", rng.IntN(7))
		if rng.IntN(6) == 0 {
			delete(fields, f)
		} else {
			fields[f] = tag
		}
		return jsonDoc(fields)
	case strings.HasSuffix(key, ".bin"):
		return newContent(key, rng, tag)
	}
	lines := strings.SplitAfter(string(content), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	i := rng.IntN(len(lines) + 1)
	if i == len(lines) {
		lines = append(lines, "added by "+tag+"\n")
	} else {
		lines[i] = fmt.Sprintf("line %d %s\n", i, tag)
	}
	return strings.Join(lines, "")
}

// jsonDoc writes an object with one field a line, keys sorted.
func jsonDoc(fields map[string]string) string {
	var b strings.Builder
	b.WriteString("{\n")
	for i, k := range sortedKeys(fields) {
		if i > 0 {
			b.WriteString(",\n")
		}
		v, _ := json.Marshal(fields[k])
		fmt.Fprintf(&b, "  %q: %s", k, v)
	}
	b.WriteString("\n}\n")
	return b.String()
}

// TestConvergeKeepsBothInsertions: two leaders append different entries to
// the same JSON list. The converging merge keeps both, without a
// conflict, and writes the same commit whichever head is given first:
// "ours first" follows the canonical order (the smaller head ID is ours).
// A merge a person makes (Heads) puts their own side's entry first.
func TestConvergeKeepsBothInsertions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newMemRepo(t)
	base := docs{"catalog.json": "{\n  \"entries\": [\n    {\"name\": \"base\"}\n  ]\n}\n"}
	R := commitDocs(t, r, "R", 0, base)
	a := commitDocs(t, r, "A", 1, with(base, "catalog.json", "{\n  \"entries\": [\n    {\"name\": \"base\"},\n    {\"name\": \"a\"}\n  ]\n}\n"), R)
	b := commitDocs(t, r, "B", 2, with(base, "catalog.json", "{\n  \"entries\": [\n    {\"name\": \"base\"},\n    {\"name\": \"b\"}\n  ]\n}\n"), R)
	catalog := func(first, second string) docs {
		return docs{"catalog.json": "{\n  \"entries\": [\n    {\"name\": \"base\"},\n    {\"name\": \"" + first + "\"},\n    {\"name\": \"" + second + "\"}\n  ]\n}\n"}
	}
	lo, hi := "a", "b"
	if b.Compare(a) < 0 {
		lo, hi = hi, lo
	}
	id1, res1 := convergeBothWays(t, r, a, b)
	if len(res1.Conflicted) > 0 {
		t.Errorf("conflicts %v, want none", res1.Conflicted)
	}
	checkDocs(t, "converged", readDocs(t, r, readCommit(t, r, id1).Index), catalog(lo, hi))

	for _, c := range []struct {
		ours, theirs  objects.ID
		first, second string
	}{{a, b, "a", "b"}, {b, a, "b", "a"}} {
		res, err := Heads(ctx, r, c.ours, c.theirs)
		if err != nil {
			t.Fatal(err)
		}
		checkDocs(t, "merged into "+c.first, readDocs(t, r, res.Index), catalog(c.first, c.second))
	}
}
