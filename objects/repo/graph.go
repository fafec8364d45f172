package repo

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/folio-db/folio/objects"
)

// Graph lays out a history as rows of text, the way git log --graph draws
// it: each line of history is a column ('|'), a commit is a '*' in its
// column, a merge opens a column for each parent after the first ('\'),
// and a column that reaches a commit another column also leads to joins
// it ('/'). Give it the commits in the order WalkGraph visits them; it
// keeps only the columns open now.
type Graph struct {
	cols []objects.ID // the commit each column leads to
	// arrived marks the columns a '/' joined on the last row: such a column
	// that moves left again is drawn '/' on the next commit row, so the
	// line reads as one diagonal. fanned marks those a '\' moved to when
	// the last row was a merge's fan-out: beside another merge that fans
	// out they stay '\'.
	arrived, fanned []bool
}

// GraphRows are the rows of one commit.
type GraphRows struct {
	// Commit is the commit's row ('*' in its column), padded to the width
	// of the graph so that text put after it lines up.
	Commit string
	// Edges lead the columns from this commit's row to the next commit's:
	// a merge's new columns, and columns joining. Each is padded like
	// Commit; there are none when the columns stay as they are.
	Edges []string
	// Padding is a row of the columns after Edges, for more text.
	Padding string
}

// edge is one line from the commit row to the columns after it, in
// character positions (column i is at 2*i).
type edge struct {
	at, to int
	side   int  // the column it leaves is left (-1) or right (1) of the commit, or is the commit's (0)
	parent int  // the commit's: which parent it leads to
	first  move // how it moves on a merge's first row
}

// fanning is how a merge's parents leave it.
type fanning int

const (
	fanNone  fanning = iota // not a merge
	fanLeft                 // the first parent to a column on the left
	fanJoin                 // the second parent into the column on the right
	fanRight                // the others to new columns on the right
)

// move is how an edge moves on a row.
type move int

const (
	free  move = iota // toward its column, one column a row
	hold              // straight down
	left              // one column to the left
	right             // one column to the right
	along             // along the row to the column before its target
)

// Next lays out the commit id with its parents (those the history shows:
// all of them, or the first with --first-parent).
func (g *Graph) Next(id objects.ID, parents []objects.ID) GraphRows {
	idx := slices.Index(g.cols, id)
	if idx < 0 { // a commit no shown commit has as a parent: a new column
		idx = len(g.cols)
		g.cols = append(g.cols, id)
		g.arrived = append(g.arrived, false)
		g.fanned = append(g.fanned, false)
	}
	next, edges := g.edges(idx, parents)
	fan := g.fanOut(idx, parents, next, edges)
	width := 2 * max(len(g.cols), len(next))
	if fan == fanRight {
		width = max(width, 2*(len(g.cols)+len(parents)-1))
	}
	out := GraphRows{Commit: g.commitRow(idx, len(parents), edges, fan, width)}
	out.Edges, g.arrived, g.fanned = edgeRows(edges, fan, width, len(next))
	pad := newGraphRow(width)
	for i := range next {
		pad[2*i] = '|'
	}
	out.Padding = string(pad)
	g.cols = next
	return out
}

// edges lays out the columns after the commit in column idx: each column
// leads on to the same commit, the commit's to its parents (a commit some
// column already leads to joins that column), and returns the lines from
// the commit row to them.
func (g *Graph) edges(idx int, parents []objects.ID) ([]objects.ID, []edge) {
	var next []objects.ID
	place := func(c objects.ID) int {
		if i := slices.Index(next, c); i >= 0 {
			return i
		}
		next = append(next, c)
		return len(next) - 1
	}
	var edges []edge
	for j, c := range g.cols {
		if j != idx {
			edges = append(edges, edge{at: 2 * j, to: 2 * place(c), side: cmp.Compare(j, idx)})
			continue
		}
		for k, p := range parents {
			edges = append(edges, edge{at: 2 * j, to: 2 * place(p), parent: k})
		}
	}
	return next, edges
}

// fanOut says how a merge's parents leave it: if its first parent is a
// column to the left, that edge leaves to the left and the others start
// straight down; if its second (and last) parent is the column just to
// its right, that edge joins it at once; otherwise the first parent goes
// straight down, each other parent leaves to the right, and the columns to
// the right of the merge move right to make room. It sets how each edge
// moves on the first row accordingly.
func (g *Graph) fanOut(idx int, parents, next []objects.ID, edges []edge) fanning {
	if len(parents) < 2 {
		return fanNone
	}
	p0, p1 := edges[idx], edges[idx+1] // the columns left of idx have one edge each
	fan := fanRight
	switch {
	case p0.to < p0.at:
		fan = fanLeft
	case len(parents) == 2 && p1.to == p1.at+2 && idx+1 < len(g.cols) && next[idx+1] == g.cols[idx+1]:
		fan = fanJoin
	}
	for i := range edges {
		e := &edges[i]
		switch {
		case e.side < 0:
			e.first = hold
		case e.side > 0:
			e.first = map[fanning]move{fanLeft: hold, fanJoin: free, fanRight: right}[fan]
		case e.parent == 0:
			e.first = map[fanning]move{fanLeft: free, fanJoin: hold, fanRight: hold}[fan]
		default:
			e.first = map[fanning]move{fanLeft: hold, fanJoin: right, fanRight: right}[fan]
			if fan == fanRight {
				e.at += 2 * (e.parent - 1) // an octopus's later parents leave further right
			}
		}
	}
	return fan
}

// commitRow draws the commit's row: '*' in column idx, '|' in the others,
// but '/' for a column that goes on moving left along a diagonal, and '\'
// beside a merge that fans out for a column the last merge's fan-out moved
// (an octopus's: every column).
func (g *Graph) commitRow(idx, parents int, edges []edge, fan fanning, width int) string {
	row := newGraphRow(width)
	for j, e := range g.columnEdges(idx, parents) {
		switch {
		case j == idx:
			row[2*j] = '*'
		case j > idx && fan == fanRight:
			row[2*j] = map[bool]byte{true: '\\', false: '|'}[g.fanned[j] || parents > 2]
		case g.arrived[j] && edges[e].to < edges[e].at:
			row[2*j] = '/'
		default:
			row[2*j] = '|'
		}
	}
	return string(row)
}

// edgeRows moves the edges a row at a time until each is at its column,
// and returns the rows, with the columns a '/' reached on the last row
// (arrived) and, if that row was a merge's fan-out, those a '\' reached
// (fanned).
func edgeRows(edges []edge, fan fanning, width, columns int) (rows []string, arrived, fanned []bool) {
	// Edges may pass columns beyond the last one on their way.
	arrived, fanned = make([]bool, width/2+1), make([]bool, width/2+1)
	for rowNum := 0; ; rowNum++ {
		row := newGraphRow(width)
		landed, pushed := make([]bool, width/2+1), make([]bool, width/2+1)
		horizontal, moved := false, false
		for i := range edges {
			e := &edges[i]
			m := free
			if rowNum == 0 && fan != fanNone {
				m = e.first
			}
			if m == free {
				switch {
				case e.at > e.to+2 && !horizontal && clearRun(row, e.to+3, e.at-2):
					m, horizontal = along, true
				case e.at > e.to:
					m = left
				case e.at < e.to:
					m = right
				default:
					m = hold
				}
			}
			switch m {
			case along:
				// One edge a row that goes further than the next
				// column runs along the row ('_') to the column
				// before its target, under the columns it passes.
				row[e.at-1] = '/'
				for c := e.to + 3; c < e.at-2; c += 2 {
					row[c] = '_'
				}
				e.at = e.to + 2
			case left:
				row[e.at-1] = '/'
				e.at -= 2
				landed[e.at/2] = true
			case right:
				row[e.at+1] = '\\'
				e.at += 2
				if e.at == e.to {
					pushed[e.at/2] = true
				}
			case hold:
				row[e.at] = '|'
			}
			moved = moved || m != hold
		}
		if !moved {
			return rows, arrived[:columns], fanned[:columns]
		}
		rows = append(rows, string(row))
		arrived = landed
		clear(fanned)
		if rowNum == 0 && fan == fanRight {
			fanned = pushed
		}
	}
}

// columnEdges maps each column of the commit row to the index in the
// edge list of the edge that leaves it (a commit's column: its first
// parent's).
func (g *Graph) columnEdges(idx, parents int) []int {
	out := make([]int, len(g.cols))
	e := 0
	for j := range g.cols {
		out[j] = e
		if j == idx {
			e += parents
		} else {
			e++
		}
	}
	return out
}

// clearRun reports whether the odd positions of row in [from, to) are
// blank: a run along the row must not cover another edge's step.
func clearRun(row []byte, from, to int) bool {
	for c := from; c < to; c += 2 {
		if row[c] != ' ' {
			return false
		}
	}
	return true
}

func newGraphRow(width int) []byte { return []byte(strings.Repeat(" ", width)) }

// WalkGraph visits the commits reachable from starts in the order git log
// --graph shows them: each commit after all its children, and one line of
// history followed down (a merge's last parent first) until it meets a
// commit that still waits for another child, before the next is taken up.
// With firstParent it follows only first parents. It reads ahead only as
// far as the commits' heights require, and forgets a commit once visited,
// so its memory is the width of the history, not its length. fn may
// return ErrStop to end the walk early.
func (r *Repo) WalkGraph(ctx context.Context, starts []objects.ID, firstParent bool, fn func(id objects.ID, c *objects.Commit) error) error {
	w := &graphWalk{r: r, firstParent: firstParent, children: map[objects.ID]int{}, commits: map[objects.ID]*objects.Commit{}}
	minHeight := ^uint64(0)
	var tips []queued
	for _, id := range starts {
		if _, ok := w.children[id]; ok {
			continue
		}
		c, err := w.add(ctx, id)
		if err != nil {
			return err
		}
		tips = append(tips, queued{id, c})
		minHeight = min(minHeight, c.Height)
	}
	if err := w.count(ctx, minHeight); err != nil {
		return err
	}
	// The newest tip first, then the others as they come due.
	slices.SortFunc(tips, func(a, b queued) int {
		if (commitQueue{a, b}).Less(0, 1) {
			return 1
		}
		return -1
	})
	var stack []objects.ID
	for _, t := range tips {
		if w.children[t.id] == 0 { // not below another tip
			stack = append(stack, t.id)
		}
	}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c := w.commits[id]
		delete(w.commits, id)
		delete(w.children, id)
		if err := fn(id, c); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		for _, p := range w.parents(c) {
			pc, ok := w.commits[p]
			if !ok {
				continue // a parent listed twice, already visited
			}
			if err := w.count(ctx, pc.Height); err != nil {
				return err
			}
			w.children[p]--
			if w.children[p] == 0 {
				stack = append(stack, p)
			}
		}
	}
	return nil
}

// graphWalk counts, for each commit read so far, its children not yet
// visited: a commit is visited when that count reaches zero.
type graphWalk struct {
	r           *Repo
	firstParent bool
	children    map[objects.ID]int
	commits     map[objects.ID]*objects.Commit
	ahead       heightQueue // read, parents not yet counted
}

func (w *graphWalk) parents(c *objects.Commit) []objects.ID {
	if w.firstParent && len(c.Parents) > 1 {
		return c.Parents[:1]
	}
	return c.Parents
}

func (w *graphWalk) add(ctx context.Context, id objects.ID) (*objects.Commit, error) {
	c, err := w.r.ReadCommit(ctx, id)
	if err != nil {
		return nil, err
	}
	w.children[id] = 0
	w.commits[id] = c
	heap.Push(&w.ahead, queued{id, c})
	return c, nil
}

// count counts the children of every commit of height h or more: since a
// child is higher than its parents, every child of a commit of height h
// is then counted.
func (w *graphWalk) count(ctx context.Context, h uint64) error {
	for w.ahead.Len() > 0 && w.ahead.q[0].c.Height >= h {
		next := heap.Pop(&w.ahead).(queued)
		for _, p := range w.parents(next.c) {
			if _, ok := w.children[p]; !ok {
				if _, err := w.add(ctx, p); err != nil {
					return err
				}
			}
			w.children[p]++
		}
	}
	return nil
}

// heightQueue pops the highest commit first.
type heightQueue struct{ q []queued }

func (h heightQueue) Len() int           { return len(h.q) }
func (h heightQueue) Less(i, j int) bool { return h.q[i].c.Height > h.q[j].c.Height }
func (h heightQueue) Swap(i, j int)      { h.q[i], h.q[j] = h.q[j], h.q[i] }
func (h *heightQueue) Push(x any)        { h.q = append(h.q, x.(queued)) }
func (h *heightQueue) Pop() any {
	x := h.q[len(h.q)-1]
	h.q = h.q[:len(h.q)-1]
	return x
}
