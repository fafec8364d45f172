package merge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/objects/walktest"
)

// graph is a history built from a spec of lines "name: parent parent...",
// parents before children. Commits have no documents; the name is the
// message, so every commit has its own ID.
type graph struct {
	ids   map[string]objects.ID
	names map[objects.ID]string
	order []string
}

func buildGraph(t testing.TB, r *repo.Repo, spec string) *graph {
	t.Helper()
	g := &graph{ids: map[string]objects.ID{}, names: map[objects.ID]string{}}
	for i, line := range strings.Split(strings.TrimSpace(spec), "\n") {
		name, parentList, _ := strings.Cut(strings.TrimSpace(line), ":")
		name = strings.TrimSpace(name)
		var parents []objects.ID
		for _, p := range strings.Fields(parentList) {
			id, ok := g.ids[p]
			if !ok {
				t.Fatalf("spec line %d: parent %q of %q is not defined yet", i+1, p, name)
			}
			parents = append(parents, id)
		}
		if _, dup := g.ids[name]; dup {
			t.Fatalf("spec line %d: %q defined twice", i+1, name)
		}
		id := writeCommit(t, r, commitSpec{parents: parents, at: int64(i), msg: name})
		g.ids[name] = id
		g.names[id] = name
		g.order = append(g.order, name)
	}
	return g
}

// namesOf turns IDs into names, keeping their order.
func (g *graph) namesOf(ids []objects.ID) []string {
	out := []string{}
	for _, id := range ids {
		if n, ok := g.names[id]; ok {
			out = append(out, n)
		} else {
			out = append(out, "?"+id.Short())
		}
	}
	return out
}

// sortedByID orders names as Bases orders their commits.
func (g *graph) sortedByID(names ...string) []string {
	ids := make([]objects.ID, len(names))
	for i, n := range names {
		ids[i] = g.ids[n]
	}
	slices.SortFunc(ids, objects.ID.Compare)
	return g.namesOf(ids)
}

// The histories below are drawn with time going right (or down): each
// commit's parents are to its left.
var basesCases = []struct {
	name  string
	graph string
	a, b  string
	want  []string
}{
	{
		// R - A - B - C
		name:  "linear, a below b",
		graph: "R\nA: R\nB: A\nC: B",
		a:     "A", b: "C",
		want: []string{"A"},
	},
	{
		name:  "linear, b below a",
		graph: "R\nA: R\nB: A\nC: B",
		a:     "C", b: "R",
		want: []string{"R"},
	},
	{
		name:  "same commit",
		graph: "R\nA: R",
		a:     "A", b: "A",
		want: []string{"A"},
	},
	{
		// R - A - B - C
		//      \
		//       D - E
		name:  "simple fork",
		graph: "R\nA: R\nB: A\nC: B\nD: A\nE: D",
		a:     "C", b: "E",
		want: []string{"A"},
	},
	{
		// R - A - B - C - M
		//      \         /
		//       D ----- E
		// The base is one of the heads: E is in M's history.
		name:  "base is one head",
		graph: "R\nA: R\nB: A\nC: B\nD: A\nE: D\nM: C E",
		a:     "M", b: "E",
		want: []string{"E"},
	},
	{
		//   R - B1 - M1
		//    \    \ /
		//     \    X
		//      \  / \
		//       B2 - M2
		// Criss-cross: M1 and M2 both merge B1 and B2.
		name:  "criss-cross",
		graph: "R\nB1: R\nB2: R\nM1: B1 B2\nM2: B2 B1",
		a:     "M1", b: "M2",
		want: []string{"B1", "B2"},
	},
	{
		//   R - B1 - M1 - N1
		//    \    \ /
		//     \    X
		//      \  / \
		//       B2 - M2 - N2
		// The criss-cross stays the answer with more commits on top.
		name:  "criss-cross below new work",
		graph: "R\nB1: R\nB2: R\nM1: B1 B2\nM2: B2 B1\nN1: M1\nN2: M2",
		a:     "N1", b: "N2",
		want: []string{"B1", "B2"},
	},
	{
		//          R
		//        / | \
		//      B1  B2  B3
		//      | \ /\ / |
		//      |  P1  P2 |      P1 = B1+B2, P2 = B3+B2
		//      |   \  /  |
		//      |    \/   |
		//      |    /\   |
		//      H2 -+  +- H1     H1 = P1+B3, H2 = P2+B1
		// Triple criss-cross: both heads hold all three branch tips, and
		// neither holds the other's merges.
		name:  "triple criss-cross",
		graph: "R\nB1: R\nB2: R\nB3: R\nP1: B1 B2\nP2: B3 B2\nH1: P1 B3\nH2: P2 B1",
		a:     "H1", b: "H2",
		want: []string{"B1", "B2", "B3"},
	},
	{
		// Octopus merges: H1 and H2 each merge the three tips at once.
		name:  "octopus criss-cross",
		graph: "R\nB1: R\nB2: R\nB3: R\nH1: B1 B2 B3\nH2: B3 B1 B2",
		a:     "H1", b: "H2",
		want: []string{"B1", "B2", "B3"},
	},
	{
		//   R - A1 - A2 - A3 - A4 - A5 - A6 - A7 - A8
		//    \            \       /
		//     \            \     /
		//      B1 - B2 - B3 - B4 - B5 - B6 - B7 - B8
		//                 (A3 into B4, B3 into A5)
		// Long chains with cross merges both ways: the bases are the
		// newest commit each side took from the other.
		name: "long chains with cross merges",
		graph: `R
			A1: R
			A2: A1
			A3: A2
			A4: A3
			B1: R
			B2: B1
			B3: B2
			A5: A4 B3
			A6: A5
			A7: A6
			A8: A7
			B4: B3 A3
			B5: B4
			B6: B5
			B7: B6
			B8: B7`,
		a: "A8", b: "B8",
		want: []string{"A3", "B3"},
	},
	{
		//   R - A1 - A2 - A3 - A4
		//    \    \         /
		//     B1 - B2 - B3 - B4
		// A4 took B3, B2 took A1: A1 is a common ancestor but also an
		// ancestor of B3, so only B3 is a best base.
		name: "cross merges one way then back",
		graph: `R
			A1: R
			A2: A1
			A3: A2
			B1: R
			B2: B1 A1
			B3: B2
			A4: A3 B3
			B4: B3`,
		a: "A4", b: "B4",
		want: []string{"B3"},
	},
	{
		//   R - A - B - C ------ H1
		//        \       \
		//         \       M - H2
		//          \     /
		//           D - E
		// Merges of merges: H2's history holds a merge of C and E.
		name:  "merge of merges",
		graph: "R\nA: R\nB: A\nC: B\nD: A\nE: D\nM: C E\nH1: C\nH2: M",
		a:     "H1", b: "H2",
		want: []string{"C"},
	},
	{
		//   R - A - M1 - M3 - H1
		//    \   \ /  \ /
		//     \   X    X
		//      \ / \  / \
		//       B - M2 - M4 - H2
		// Criss-cross of merges: M3 and M4 both merge M1 and M2, which
		// both merge A and B. Only M1 and M2 are best bases.
		name: "criss-cross of merges",
		graph: `R
			A: R
			B: R
			M1: A B
			M2: B A
			M3: M1 M2
			M4: M2 M1
			H1: M3
			H2: M4`,
		a: "H1", b: "H2",
		want: []string{"M1", "M2"},
	},
	{
		//   R1 - A
		//   R2 - B
		name:  "unrelated histories",
		graph: "R1\nA: R1\nR2\nB: R2",
		a:     "A", b: "B",
		want: []string{},
	},
	{
		//   R - A - B - C
		//    \       \
		//     D ----- E
		// E merges D and B: the common ancestors of C and E are R, A and
		// B; R and A are ancestors of B and must be removed.
		name:  "ancestors of a base are not bases",
		graph: "R\nA: R\nB: A\nC: B\nD: R\nE: D B",
		a:     "C", b: "E",
		want: []string{"B"},
	},
	{
		//   R - A - B - C - D - E - F - G - K
		//    \                         \
		//     X ------------------------ H
		// H has a parent far down (X, height 2) and one high up (G); K is
		// another child of G. The old commit R is common but far below the
		// best base G.
		name:  "short path to an old commit",
		graph: "R\nA: R\nB: A\nC: B\nD: C\nE: D\nF: E\nG: F\nX: R\nH: X G\nK: G",
		a:     "H", b: "K",
		want: []string{"G"},
	},
}

func TestBases(t *testing.T) {
	ctx := context.Background()
	for _, tc := range basesCases {
		t.Run(tc.name, func(t *testing.T) {
			r := newMemRepo(t)
			g := buildGraph(t, r, tc.graph)
			want := g.sortedByID(tc.want...)
			for _, swap := range []bool{false, true} {
				a, b := g.ids[tc.a], g.ids[tc.b]
				if swap {
					a, b = b, a
				}
				got, err := Bases(ctx, r, a, b)
				if err != nil {
					t.Fatal(err)
				}
				if names := g.namesOf(got); !slices.Equal(names, want) {
					t.Errorf("Bases(%s, %s) = %v, want %v (sorted by ID)", g.names[a], g.names[b], names, want)
				}
			}
			// Each base is an ancestor of both heads.
			for _, n := range tc.want {
				for _, head := range []string{tc.a, tc.b} {
					ok, err := IsAncestor(ctx, r, g.ids[n], g.ids[head])
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						t.Errorf("IsAncestor(%s, %s) = false for a base", n, head)
					}
				}
			}
		})
	}
}

func TestIsAncestor(t *testing.T) {
	ctx := context.Background()
	r := newMemRepo(t)
	//   R - A - B - C
	//    \       \
	//     D ----- E   and an unrelated root U
	g := buildGraph(t, r, "R\nA: R\nB: A\nC: B\nD: R\nE: D B\nU")
	cases := []struct {
		a, b string
		want bool
	}{
		{"R", "C", true}, {"A", "E", true}, {"D", "E", true}, {"B", "B", true},
		{"C", "R", false}, {"D", "C", false}, {"C", "E", false}, {"E", "C", false},
		{"U", "E", false}, {"R", "U", false},
	}
	for _, tc := range cases {
		got, err := IsAncestor(ctx, r, g.ids[tc.a], g.ids[tc.b])
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("IsAncestor(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// countingReader counts commit reads.
type countingReader struct {
	r     CommitReader
	reads atomic.Int64
}

func (c *countingReader) ReadCommit(ctx context.Context, id objects.ID) (*objects.Commit, error) {
	c.reads.Add(1)
	return c.r.ReadCommit(ctx, id)
}

// TestBasesReadsOnlyAboveTheBase checks the claim that the walk stops
// early: a fork two commits above a 500-commit history reads a handful of
// commits, not the whole history.
func TestBasesReadsOnlyAboveTheBase(t *testing.T) {
	ctx := context.Background()
	r := newMemRepo(t)
	var tip objects.ID
	for i := range 500 {
		var parents []objects.ID
		if i > 0 {
			parents = []objects.ID{tip}
		}
		tip = writeCommit(t, r, commitSpec{parents: parents, at: int64(i), msg: fmt.Sprint("c", i)})
	}
	a1 := writeCommit(t, r, commitSpec{parents: []objects.ID{tip}, at: 600, msg: "a1"})
	a2 := writeCommit(t, r, commitSpec{parents: []objects.ID{a1}, at: 601, msg: "a2"})
	b1 := writeCommit(t, r, commitSpec{parents: []objects.ID{tip}, at: 602, msg: "b1"})
	cr := &countingReader{r: r}
	got, err := Bases(ctx, cr, a2, b1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != tip {
		t.Fatalf("Bases = %v, want the fork point", got)
	}
	if n := cr.reads.Load(); n > 20 {
		t.Errorf("Bases read %d commits for a fork 2 commits deep in a 500-commit history", n)
	}
	cr.reads.Store(0)
	if ok, err := IsAncestor(ctx, cr, tip, a2); err != nil || !ok {
		t.Fatalf("IsAncestor(fork, a2) = %v, %v", ok, err)
	}
	if ok, err := IsAncestor(ctx, cr, a1, b1); err != nil || ok {
		t.Fatalf("IsAncestor(a1, b1) = %v, %v", ok, err)
	}
	if n := cr.reads.Load(); n > 20 {
		t.Errorf("IsAncestor read %d commits, heights should stop it at the fork", n)
	}
}

func TestBasesErrors(t *testing.T) {
	r := newMemRepo(t)
	g := buildGraph(t, r, "R\nA: R\nB: R")
	missing := objects.Hash([]byte("no such commit"))
	if _, err := Bases(context.Background(), r, g.ids["A"], missing); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("Bases with a missing commit: %v, want ErrNotFound", err)
	}
	if _, err := IsAncestor(context.Background(), r, missing, g.ids["A"]); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("IsAncestor with a missing commit: %v, want ErrNotFound", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Bases(ctx, r, g.ids["A"], g.ids["B"]); !errors.Is(err, context.Canceled) {
		t.Errorf("Bases with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestBasesRandom checks Bases and IsAncestor on random histories against
// their definitions: the common ancestors by full reachability, less those
// that are ancestors of another common ancestor.
func TestBasesRandom(t *testing.T) {
	ctx := context.Background()
	shapes := map[int]int{} // how many checks had 0, 1, 2... bases
	for seed := range uint64(150) {
		rng := rand.New(rand.NewPCG(seed, 0xba5e5))
		r := newMemRepo(t)
		n := 2 + rng.IntN(40)
		ids := make([]objects.ID, n)
		parents := make([][]int, n)
		for i := range n {
			var ps []objects.ID
			// A few roots, and otherwise one to three parents among
			// the commits before, mostly recent ones.
			if i > 0 && rng.IntN(12) != 0 {
				for range 1 + rng.IntN(3) {
					p := i - 1 - min(rng.IntN(i), rng.IntN(i))
					if !slices.Contains(parents[i], p) {
						parents[i] = append(parents[i], p)
						ps = append(ps, ids[p])
					}
				}
			}
			ids[i] = writeCommit(t, r, commitSpec{parents: ps, at: int64(rng.IntN(1000)), msg: fmt.Sprint(seed, "/", i)})
		}
		reach := make([]map[int]bool, n) // reach[i]: i and all its ancestors
		for i := range n {
			reach[i] = map[int]bool{i: true}
			for _, p := range parents[i] {
				for a := range reach[p] {
					reach[i][a] = true
				}
			}
		}
		for range 10 {
			a, b := rng.IntN(n), rng.IntN(n)
			var want []objects.ID
			for c := range n {
				if !reach[a][c] || !reach[b][c] {
					continue
				}
				best := true
				for d := range n {
					if d != c && reach[a][d] && reach[b][d] && reach[d][c] {
						best = false
						break
					}
				}
				if best {
					want = append(want, ids[c])
				}
			}
			slices.SortFunc(want, objects.ID.Compare)
			shapes[min(len(want), 3)]++
			got, err := Bases(ctx, r, ids[a], ids[b])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d: Bases(%d, %d) = %s, want %s (parents %v)", seed, a, b, shorts(got), shorts(want), parents)
			}
			ok, err := IsAncestor(ctx, r, ids[a], ids[b])
			if err != nil {
				t.Fatal(err)
			}
			if ok != reach[b][a] {
				t.Fatalf("seed %d: IsAncestor(%d, %d) = %v, want %v (parents %v)", seed, a, b, ok, reach[b][a], parents)
			}
		}
	}
	// The generator must reach every shape, or the test proves little.
	for k := range 4 {
		if shapes[k] == 0 {
			t.Errorf("no random history had %d bases (shapes %v)", k, shapes)
		}
	}
	t.Logf("checks by number of bases (3 = three or more): %v", shapes)
}

func shorts(ids []objects.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.Short()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// walkHistoryLength is long enough that a walk keeping every commit it
// visits grows the heap by megabytes; maxWalkGrowth is far below that.
const (
	walkHistoryLength = 20_000
	maxWalkGrowth     = 64 << 10
)

// TestWalksHoldOnlyTheirFrontier walks the whole of a long linear history
// (the merge base of its tip and root; whether the root is an ancestor of
// the tip) and checks that the live heap does not grow with the commits
// visited: the walks keep their frontier, not the history. Not parallel,
// so the heap measured is this test's alone.
func TestWalksHoldOnlyTheirFrontier(t *testing.T) {
	ctx := context.Background()
	h := walktest.Linear(walkHistoryLength)
	got, err := Bases(ctx, h, h.Tip(), h.IDs[0])
	if err != nil || len(got) != 1 || got[0] != h.IDs[0] {
		t.Fatalf("Bases(tip, root) = %v, %v; want the root", got, err)
	}
	if g := h.Growth(); g > maxWalkGrowth {
		t.Errorf("Bases over %d commits grew the heap by %d bytes, want at most %d", walkHistoryLength, g, maxWalkGrowth)
	}
	h = walktest.Linear(walkHistoryLength)
	if ok, err := IsAncestor(ctx, h, h.IDs[0], h.Tip()); err != nil || !ok {
		t.Fatalf("IsAncestor(root, tip) = %v, %v", ok, err)
	}
	if g := h.Growth(); g > maxWalkGrowth {
		t.Errorf("IsAncestor over %d commits grew the heap by %d bytes, want at most %d", walkHistoryLength, g, maxWalkGrowth)
	}
}

// A parent that is not lower than its child (a store that lies about
// heights) is refused as corrupt, not walked.
func TestBasesRefuseBadHeights(t *testing.T) {
	t.Parallel()
	r := newMemRepo(t)
	root := writeCommit(t, r, commitSpec{at: 0, msg: "root"})
	var child objects.ID
	for _, c := range []objects.Commit{
		{Parents: []objects.ID{root}, Height: 5, Message: "too high"},
		{Height: 3, Message: "below its parent"},
	} {
		if !child.IsZero() {
			c.Parents = []objects.ID{child}
		}
		obj := c.Encode()
		if err := r.Store().Put(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
		child = obj.ID
	}
	if _, err := Bases(context.Background(), r, child, root); !errors.Is(err, objects.ErrCorrupt) {
		t.Errorf("Bases through a commit as high as its parent: %v, want ErrCorrupt", err)
	}
}

// crissCrossOfMerges is a history whose heads p and q have two merge bases
// that have two of their own.
const crissCrossOfMerges = `
		root:
		a1: root
		b1: root
		c1: root
		x1: a1 b1
		x2: b1 a1
		m1: x1 c1
		m2: x2 c1
		p: m1 m2
		q: m2 m1`

// virtualBaseOf is the virtual base of p and q that a new merge makes at
// depth, and the commits it read to make it.
func virtualBaseOf(t *testing.T, r *repo.Repo, g *graph, depth int) (objects.ID, int64) {
	t.Helper()
	ctx := context.Background()
	bases, err := Bases(ctx, r, g.ids["p"], g.ids["q"])
	if err != nil {
		t.Fatal(err)
	}
	reads := &countingReader{r: r}
	m := &merger{r: r, commits: newCommitCache(reads), virtual: map[string]virtualHead{}}
	h, err := m.virtualBase(ctx, bases, depth)
	if err != nil {
		t.Fatal(err)
	}
	return h.Commit, reads.reads.Load()
}

// TestVirtualBaseIsRememberedAcrossMerges: the repository remembers the
// virtual bases a merge made, so the next merge of the same bases reads
// only the virtual commit; after gc deleted it, a merge makes it again.
func TestVirtualBaseIsRememberedAcrossMerges(t *testing.T) {
	ctx := context.Background()
	r := newDiskRepo(t)
	g := buildGraph(t, r, crissCrossOfMerges)
	for _, name := range []string{"p", "q"} {
		if err := r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: objects.BranchPrefix + name, New: g.ids[name]}); err != nil {
			t.Fatal(err)
		}
	}
	first, made := virtualBaseOf(t, r, g, 0)
	// Its bases have two bases of their own, which have one: made at any
	// depth that leaves room for that, it is the same.
	for _, depth := range []int{0, maxVirtualDepth - 2} {
		again, reads := virtualBaseOf(t, r, g, depth)
		if again != first || reads != 1 {
			t.Errorf("merged again at depth %d: %s after %s, %d commit reads (%d to make it); want the same, from one read",
				depth, again.Short(), first.Short(), reads, made)
		}
	}
	// Deeper, the depth bound cuts it short: it is made again, as a
	// repository that remembers nothing makes it, then remembered at
	// that depth.
	other := newMemRepo(t)
	copyObjects(t, other.Store(), r.Store())
	for i, wantReads := range []int64{made, 1} {
		cut, reads := virtualBaseOf(t, r, g, maxVirtualDepth-1)
		want, _ := virtualBaseOf(t, other, g, maxVirtualDepth-1)
		if cut != want || (i == 0) != (reads > 1) {
			t.Errorf("at depth %d, time %d: %s, want %s; %d commit reads, want %d", maxVirtualDepth-1, i+1, cut.Short(), want.Short(), reads, wantReads)
		}
	}
	if _, err := r.GC(ctx, repo.GCOptions{Exclusive: true}); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Store().Has(ctx, first); ok || err != nil {
		t.Fatalf("the virtual base survived gc: %v, %v", ok, err)
	}
	after, reads := virtualBaseOf(t, r, g, 0)
	if after != first || reads != made {
		t.Errorf("after gc: %s after %s, %d commit reads; want the same, made again from %d", after.Short(), first.Short(), reads, made)
	}
}

// TestVirtualBaseReadsEachCommitOnce: a merge whose bases criss-cross
// (their own bases are several, as leaders peered all-to-all make them)
// reads each commit of the history once, however many walks pass it, and
// makes each virtual base once: asked again, it reads nothing.
func TestVirtualBaseReadsEachCommitOnce(t *testing.T) {
	ctx := context.Background()
	r := newMemRepo(t)
	g := buildGraph(t, r, crissCrossOfMerges)
	reads := &countingReader{r: r}
	m := &merger{r: r, commits: newCommitCache(reads), virtual: map[string]virtualHead{}}
	bases, err := Bases(ctx, m.commits, g.ids["p"], g.ids["q"])
	if err != nil {
		t.Fatal(err)
	}
	if names := g.namesOf(bases); len(names) != 2 {
		t.Fatalf("bases %v, want m1 and m2", names)
	}
	first, err := m.virtualBase(ctx, bases, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Each commit of the history once, and each virtual commit made once
	// when a walk comes to it.
	virtual := len(m.virtual)
	if n := int(reads.reads.Load()); n > len(g.order)+2*virtual {
		t.Errorf("%d commit reads for %d commits and %d virtual bases", n, len(g.order), virtual)
	}
	before := reads.reads.Load()
	again, err := m.virtualBase(ctx, bases, 0)
	if err != nil {
		t.Fatal(err)
	}
	if again.Commit != first.Commit || reads.reads.Load() != before {
		t.Errorf("asked again: %s after %s, %d more reads", again.Commit.Short(), first.Commit.Short(), reads.reads.Load()-before)
	}
	// The same as a merge in a repository that remembers nothing makes.
	other := newMemRepo(t)
	copyObjects(t, other.Store(), r.Store())
	fresh := &merger{r: other, commits: newCommitCache(other), virtual: map[string]virtualHead{}}
	if h, err := fresh.virtualBase(ctx, bases, 0); err != nil || h.Commit != first.Commit {
		t.Errorf("a fresh merge makes %s (%v), this one %s", h.Commit.Short(), err, first.Commit.Short())
	}
}
