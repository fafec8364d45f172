package repo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// buildHistory writes the commits of spec, one "NAME [PARENT...]" a line,
// oldest first, each a minute after the one before, and returns their IDs.
func buildHistory(t *testing.T, r *Repo, spec string) map[string]objects.ID {
	t.Helper()
	ctx := context.Background()
	ids := map[string]objects.ID{}
	when := time.Unix(1_000_000_000, 0).UTC()
	for _, line := range strings.Split(strings.TrimSpace(spec), "\n") {
		f := strings.Fields(line)
		when = when.Add(time.Minute)
		c := &objects.Commit{Message: f[0], Author: ada, Time: when, CommitTime: when}
		for _, p := range f[1:] {
			id, ok := ids[p]
			if !ok {
				t.Fatalf("%s: no commit %s above it", line, p)
			}
			c.Parents = append(c.Parents, id)
		}
		id, err := r.WriteCommit(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		ids[f[0]] = id
	}
	return ids
}

// drawGraph is log --graph --oneline of the history from starts, with the
// messages as the text.
func drawGraph(t *testing.T, r *Repo, starts []objects.ID, firstParent bool) string {
	t.Helper()
	var b strings.Builder
	var g Graph
	err := r.WalkGraph(context.Background(), starts, firstParent, func(id objects.ID, c *objects.Commit) error {
		parents := c.Parents
		if firstParent && len(parents) > 1 {
			parents = parents[:1]
		}
		rows := g.Next(id, parents)
		b.WriteString(rows.Commit + c.Message + "\n")
		for _, e := range rows.Edges {
			b.WriteString(strings.TrimRight(e, " ") + "\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The expected graphs are what git 2.39 draws for the same history
// (git log --graph --oneline --all, commit dates a minute apart).
func TestGraph(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, spec  string
		starts      string // space-separated: the tips shown
		firstParent bool
		want        string
	}{{
		name: "linear", spec: "A\nB A\nC B", starts: "C",
		want: "* C\n* B\n* A\n",
	}, {
		name: "branch and merge", spec: "A\nB A\nC B\nD B\nE C\nM D E", starts: "M",
		want: `*   M
|\
| * E
| * C
* | D
|/
* B
* A
`,
	}, {
		name: "first parent", spec: "A\nB A\nC B\nD B\nE C\nM D E", starts: "M", firstParent: true,
		want: "* M\n* D\n* B\n* A\n",
	}, {
		name: "a start below another", spec: "A\nB A\nC B\nD B\nE C\nM D E", starts: "C M B M",
		want: `*   M
|\
| * E
| * C
* | D
|/
* B
* A
`,
	}, {
		name: "two tips", spec: "A\nB A\nC B\nX A\nY X\nD C", starts: "D Y",
		want: `* D
* C
* B
| * Y
| * X
|/
* A
`,
	}, {
		name: "merge beside a column", spec: "A\nB A\nC A\nD A\nM1 B C\nM2 M1 D", starts: "M2",
		want: `*   M2
|\
| * D
* |   M1
|\ \
| * | C
| |/
* / B
|/
* A
`,
	}, {
		name: "unrelated root merged", spec: "A\nR\nB A\nM B R", starts: "M",
		want: `*   M
|\
| * R
* B
* A
`,
	}, {
		name: "second tip below a merge", spec: "A\nB A\nC A\nD A\nE B\nF C\nG D\nM1 E F\nH M1", starts: "H G",
		want: `* H
*   M1
|\
| * F
| * C
* | E
* | B
|/
| * G
| * D
|/
* A
`,
	}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newMemRepo(t)
			ids := buildHistory(t, r, c.spec)
			var starts []objects.ID
			for _, s := range strings.Fields(c.starts) {
				starts = append(starts, ids[s])
			}
			if got := drawGraph(t, r, starts, c.firstParent); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// randomHistory is a spec for buildHistory: mostly lines of history that
// branch off recent commits, some merges, now and then a new root.
func randomHistory(rnd *rand.Rand, n int) (spec string, tips []string) {
	var lines []string
	hasChild := map[int]bool{}
	pick := func(i int) int { return max(0, i-1-rnd.IntN(min(i, 4))) }
	for i := range n {
		line := fmt.Sprintf("c%d", i)
		switch r := rnd.IntN(100); {
		case i == 0 || r < 5:
		case r < 30 && i > 2:
			a, b := pick(i), pick(i)
			if a == b {
				b = (a + 1) % i
			}
			line += fmt.Sprintf(" c%d c%d", a, b)
			hasChild[a], hasChild[b] = true, true
		default:
			p := pick(i)
			line += fmt.Sprintf(" c%d", p)
			hasChild[p] = true
		}
		lines = append(lines, line)
	}
	for i := range n {
		if !hasChild[i] {
			tips = append(tips, fmt.Sprintf("c%d", i))
		}
	}
	return strings.Join(lines, "\n"), tips
}

// gitGraphs is what git log --graph --format=%s --all draws for each
// history in specs, with tips its branches. One repository holds them all,
// each history's branches under a folder of its own (refs/heads/hN/), so
// that git runs twice, then once a history, not four times a history.
func gitGraphs(t *testing.T, specs []string, tips [][]string) []string {
	t.Helper()
	dir := t.TempDir()
	var in strings.Builder
	for h, spec := range specs {
		marks := map[string]int{}
		for i, line := range strings.Split(spec, "\n") {
			f := strings.Fields(line)
			mark := 1000*(h+1) + i + 1
			marks[f[0]] = mark
			fmt.Fprintf(&in, "reset refs/tmp/h%d\ncommit refs/tmp/h%d\nmark :%d\ncommitter a <a@example.com> %d +0000\ndata %d\n%s\n",
				h, h, mark, 1_000_000_000+60*(i+1), len(f[0]), f[0])
			for j, p := range f[1:] {
				verb := "merge"
				if j == 0 {
					verb = "from"
				}
				fmt.Fprintf(&in, "%s :%d\n", verb, marks[p])
			}
		}
		for _, tip := range tips[h] {
			fmt.Fprintf(&in, "reset refs/heads/h%d/%s\nfrom :%d\n\n", h, tip, marks[tip])
		}
	}
	run := func(stdin string, args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("", "init", "-q")
	run(in.String(), "fast-import", "--quiet")
	var graphs []string
	for h := range specs {
		out := run("", "log", "--graph", "--format=%s", fmt.Sprintf("--branches=h%d/*", h))
		var b strings.Builder
		for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
		}
		graphs = append(graphs, b.String())
	}
	return graphs
}

// TestGraphLikeGit draws random histories as git does, when git is here
// to compare with: the commits always in git's order, and the same
// drawing but for the histories listed in drawnOtherwise.
func TestGraphLikeGit(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git to compare with")
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	var specs []string
	var tips [][]string
	for range 40 {
		spec, tipsOf := randomHistory(rnd, 8+rnd.IntN(10))
		specs, tips = append(specs, spec), append(tips, tipsOf)
	}
	drawnByGit := gitGraphs(t, specs, tips)
	for i, spec := range specs {
		r := newMemRepo(t)
		ids := buildHistory(t, r, spec)
		var starts []objects.ID
		for _, tip := range tips[i] {
			starts = append(starts, ids[tip])
		}
		got, want := drawGraph(t, r, starts, false), drawnByGit[i]
		if commitsOf(got) != commitsOf(want) {
			t.Errorf("history %d:\n%s\ngot the commits in the order\n%s\ngit shows\n%s", i, spec, commitsOf(got), commitsOf(want))
		}
		if (got != want) != drawnOtherwise[i] {
			t.Errorf("history %d (drawn otherwise: %v):\n%s\ngot\n%s\ngit draws\n%s", i, drawnOtherwise[i], spec, got, want)
		}
	}
}

// drawnOtherwise are the random histories of TestGraphLikeGit that git
// draws otherwise: where an edge that moves left would come next to
// another, git holds it back a row; Graph moves it on.
var drawnOtherwise = map[int]bool{13: true, 37: true}

// commitsOf lists the commits of a drawing, in order.
func commitsOf(drawing string) string {
	var out []string
	for _, line := range strings.Split(drawing, "\n") {
		if f := strings.Fields(line); strings.Contains(line, "*") {
			out = append(out, f[len(f)-1])
		}
	}
	return strings.Join(out, " ")
}

// FuzzGraph lays out histories of any shape, given in any order (even
// one no walk makes): rows are as wide as the graph, and the commit's row
// has one '*'.
func FuzzGraph(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 1, 3, 2, 1, 4, 3, 0})
	f.Add([]byte{5, 3, 3, 3, 1, 0, 2, 2, 2, 7, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 300 {
			return
		}
		id := func(b byte) objects.ID { return objects.ID{b % 16} }
		var g Graph
		for len(data) > 1 {
			n := int(data[1] % 4)
			if len(data) < 2+n {
				return
			}
			var parents []objects.ID
			for _, p := range data[2 : 2+n] {
				parents = append(parents, id(p))
			}
			rows := g.Next(id(data[0]), parents)
			if strings.Count(rows.Commit, "*") != 1 {
				t.Fatalf("commit row %q", rows.Commit)
			}
			for _, r := range append(rows.Edges, rows.Padding) {
				if len(r) != len(rows.Commit) {
					t.Fatalf("row %q is not as wide as the commit row %q", r, rows.Commit)
				}
			}
			data = data[2+n:]
		}
	})
}
