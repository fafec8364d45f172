package sequence

// A group is a run of changed tokens [start, end) of one side; between
// two unchanged tokens there is always a group, most often an empty one.
// Walking the groups of both sides in step keeps them aligned: the k-th
// group of x sits between the same unchanged tokens as the k-th of y.
type group struct{ start, end int }

func (s *side) firstGroup() group {
	g := group{}
	for s.isChanged(g.end) {
		g.end++
	}
	return g
}

func (s *side) nextGroup(g *group) bool {
	if g.end == len(s.tok) {
		return false
	}
	g.start = g.end + 1
	g.end = g.start
	for s.isChanged(g.end) {
		g.end++
	}
	return true
}

func (s *side) prevGroup(g *group) bool {
	if g.start == 0 {
		return false
	}
	g.end = g.start - 1
	g.start = g.end
	for s.isChanged(g.start - 1) {
		g.start--
	}
	return true
}

// slideDown moves g one token later when its first token equals the token
// after it, absorbing a group it runs into.
func (s *side) slideDown(g *group) bool {
	if g.end >= len(s.tok) || s.tok[g.start] != s.tok[g.end] {
		return false
	}
	s.mark(g.start, false)
	s.mark(g.end, true)
	g.start++
	g.end++
	for s.isChanged(g.end) {
		g.end++
	}
	return true
}

// slideUp moves g one token earlier when its last token equals the token
// before it, absorbing a group it runs into.
func (s *side) slideUp(g *group) bool {
	if g.start == 0 || s.tok[g.start-1] != s.tok[g.end-1] {
		return false
	}
	g.start--
	g.end--
	s.mark(g.start, true)
	s.mark(g.end, false)
	for s.isChanged(g.start - 1) {
		g.start--
	}
	return true
}

// compact slides each change group of x as far down as it goes (merging
// groups that meet), then, if on the way it passed a place where the
// other side has changes too, back up to the last such place, so that
// the hunk pairs a deletion with an insertion. This is xdiff's
// xdl_change_compact without the indent heuristic, which git merge-file
// does not use.
func compact(x, o *side) {
	g, og := x.firstGroup(), o.firstGroup()
	for {
		if g.end > g.start {
			var earliestEnd, alignedEnd int
			for {
				size := g.end - g.start
				alignedEnd = -1
				for x.slideUp(&g) {
					mustStep(o.prevGroup(&og))
				}
				earliestEnd = g.end
				if og.end > og.start {
					alignedEnd = g.end
				}
				for x.slideDown(&g) {
					mustStep(o.nextGroup(&og))
					if og.end > og.start {
						alignedEnd = g.end
					}
				}
				if size == g.end-g.start {
					break
				}
			}
			if g.end != earliestEnd && alignedEnd != -1 {
				for og.end == og.start {
					mustStep(x.slideUp(&g))
					mustStep(o.prevGroup(&og))
				}
			}
		}
		if !x.nextGroup(&g) {
			break
		}
		mustStep(o.nextGroup(&og))
	}
}

func mustStep(ok bool) {
	if !ok {
		panic("sequence: change groups of the two sides out of step")
	}
}
