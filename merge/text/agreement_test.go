package text

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/folio-db/folio/objects"
)

// agreement counts how often folio's merge matches git merge-file's.
type agreement struct {
	cases          int
	sameClass      int // both clean or both conflicted
	sameCount      int // same number of conflicts
	clean          int // cases git merged cleanly
	cleanSame      int // ... whose output folio matches byte for byte
	conflicted     int // cases git found conflicts in
	conflictedSame int // ... whose marker output folio matches byte for byte
	diff3Same      int // --diff3 output identical
	zdiff3Same     int // --zdiff3 output identical
	resolveSame    int // --ours and --theirs both identical to Resolve
	failures       []mergeCase
}

func pct(n, of int) string {
	if of == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%% (%d/%d)", 100*float64(n)/float64(of), n, of)
}

func (a agreement) report() string {
	return fmt.Sprintf("cases %d\nclassified the same (clean or not): %s\nsame conflict count: %s\n"+
		"clean merges byte-identical: %s\nconflicted merges byte-identical: %s\n"+
		"--diff3 byte-identical: %s\n--zdiff3 byte-identical: %s\n--ours/--theirs identical to Resolve: %s",
		a.cases, pct(a.sameClass, a.cases), pct(a.sameCount, a.cases),
		pct(a.cleanSame, a.clean), pct(a.conflictedSame, a.conflicted),
		pct(a.diff3Same, a.cases), pct(a.zdiff3Same, a.cases), pct(a.resolveSame, a.cases))
}

var gitLabels = [3]string{"ours", "base", "theirs"}

func measureAgreement(t *testing.T, n int, seed uint64) agreement {
	needGit(t)
	files := genCorpus(seed)
	dir := t.TempDir()
	var a agreement
	for i := range n {
		c := genCase(files, seed, i)
		r := Merge(c.base, c.ours, c.theirs)
		gitOut, status := gitMerge(t, dir, c)
		a.cases++
		ok := true
		if (status == 0) == (r.Conflicts == 0) {
			a.sameClass++
		} else {
			ok = false
		}
		if status == min(r.Conflicts, 127) {
			a.sameCount++
		}
		same := bytes.Equal(gitOut, r.Markers(MarkerOptions{Labels: gitLabels}))
		if !same {
			ok = false
		}
		if status == 0 {
			a.clean++
			if same {
				a.cleanSame++
			}
		} else {
			a.conflicted++
			if same {
				a.conflictedSame++
			}
		}
		for _, v := range []struct {
			flag  string
			style Style
			count *int
		}{{"--diff3", StyleDiff3, &a.diff3Same}, {"--zdiff3", StyleZDiff3, &a.zdiff3Same}} {
			out, st := gitMerge(t, dir, c, v.flag)
			if bytes.Equal(out, r.Markers(MarkerOptions{Style: v.style, Labels: gitLabels})) && st == min(r.MarkerConflicts(v.style), 127) {
				*v.count++
			} else {
				ok = false
			}
		}
		oursOut, _ := gitMerge(t, dir, c, "--ours")
		theirsOut, _ := gitMerge(t, dir, c, "--theirs")
		if bytes.Equal(oursOut, r.Resolve(objects.SideOurs)) && bytes.Equal(theirsOut, r.Resolve(objects.SideTheirs)) {
			a.resolveSame++
		} else {
			ok = false
		}
		if !ok {
			a.failures = append(a.failures, c)
		}
	}
	dumpFailures(t, a.failures)
	return a
}

// dumpFailures writes disagreeing cases as txtar files into the folder
// named by FOLIO_GIT_AGREEMENT_DUMP, to study them or keep them as
// data-driven cases.
func dumpFailures(t *testing.T, failures []mergeCase) {
	dir := os.Getenv("FOLIO_GIT_AGREEMENT_DUMP")
	if dir == "" {
		return
	}
	for k, c := range failures {
		tc := dataCase{comment: "git agreement case " + c.name + "\n", base: c.base, ours: c.ours, theirs: c.theirs}
		name := filepath.Join(dir, fmt.Sprintf("disagreement_%03d.txtar", k))
		if err := os.WriteFile(name, tc.format(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// check fails the test when any agreement rate is below minPct percent,
// or when the cases are not a mix of clean and conflicted merges (each at
// least a fifth), which would mean the generator stopped exercising one.
func (a agreement) check(t *testing.T, minPct int) {
	t.Helper()
	for _, r := range []struct {
		what  string
		n, of int
	}{
		{"classified the same", a.sameClass, a.cases},
		{"same conflict count", a.sameCount, a.cases},
		{"byte-identical", a.cleanSame + a.conflictedSame, a.cases},
		{"--diff3 byte-identical", a.diff3Same, a.cases},
		{"--zdiff3 byte-identical", a.zdiff3Same, a.cases},
		{"--ours/--theirs identical", a.resolveSame, a.cases},
	} {
		if r.n*100 < r.of*minPct {
			t.Errorf("%s: %s, below %d%%", r.what, pct(r.n, r.of), minPct)
		}
	}
	if a.clean*5 < a.cases || a.conflicted*5 < a.cases {
		t.Errorf("cases not mixed: %d clean, %d conflicted of %d", a.clean, a.conflicted, a.cases)
	}
}

// TestGitAgreementSample is the always-on guard: on a fixed sample of
// generated cases folio must merge like git merge-file, output and exit
// status, in every marker style and for --ours/--theirs (100% when
// measured; 95% leaves room for a rare tie broken differently).
func TestGitAgreementSample(t *testing.T) {
	a := measureAgreement(t, 50, 1)
	t.Logf("\n%s", a.report())
	a.check(t, 95)
}

// TestGitAgreement measures agreement with git merge-file on many
// generated cases: FOLIO_GIT_AGREEMENT=1 go test -run Agreement -v
// (FOLIO_GIT_AGREEMENT=N for N cases; never fewer than 1,500). Every rate
// must reach 99% (all were 100% when measured).
func TestGitAgreement(t *testing.T) {
	v := os.Getenv("FOLIO_GIT_AGREEMENT")
	if v == "" {
		t.Skip("set FOLIO_GIT_AGREEMENT=1 to run")
	}
	n, _ := strconv.Atoi(v)
	n = max(n, 1500)
	a := measureAgreement(t, n, 20240601)
	t.Logf("\n%s", a.report())
	a.check(t, 99)
}

// TestGitAgreementLarge checks inputs long enough (over 65,536 lines in
// a diff) for xdiff's cost limits and good-snake heuristic to shape the
// diff: a line replaced by a copy of another every 25 lines, and a large
// block moved, on one side; a few edits on the other.
func TestGitAgreementLarge(t *testing.T) {
	needGit(t)
	r := rand.New(rand.NewPCG(21, 22))
	var base [][]byte
	for i := range 40_000 {
		base = append(base, fmt.Appendf(nil, "line %d %d\n", i, r.IntN(1000)))
	}
	everyOther := cloneLines(base)
	for i := 0; i < len(everyOther); i += 25 {
		everyOther[i] = slices.Clone(base[r.IntN(len(base))])
	}
	moved := append(cloneLines(base[15_000:]), cloneLines(base[:15_000])...)
	for i := 0; i < len(moved); i += 25 {
		moved[i] = slices.Clone(base[r.IntN(len(base))])
	}
	fewEdits := cloneLines(base)
	for _, i := range []int{7, 9_000, 22_222, 39_990} {
		fewEdits[i] = fmt.Appendf(nil, "theirs edit %d\n", i)
	}
	dir := t.TempDir()
	for _, ours := range [][][]byte{everyOther, moved} {
		c := mergeCase{base: bytes.Join(base, nil), ours: bytes.Join(ours, nil), theirs: bytes.Join(fewEdits, nil)}
		res := Merge(c.base, c.ours, c.theirs)
		out, status := gitMerge(t, dir, c)
		if !bytes.Equal(out, res.Markers(MarkerOptions{Labels: gitLabels})) || status != min(res.Conflicts, 127) {
			t.Errorf("large merge differs from git merge-file (git %d conflicts, folio %d)", status, res.Conflicts)
		}
		u := Unified(c.base, c.ours, "a", "b", 3)
		if got, err := applyUnified(c.base, u); err != nil || !bytes.Equal(got, c.ours) {
			t.Errorf("large unified diff does not apply: %v", err)
		}
	}
}
