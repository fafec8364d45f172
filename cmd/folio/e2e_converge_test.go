package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// topology says which leaders each leader has as remotes; every link goes
// both ways.
type topology struct {
	name  string
	links func(n int) [][]int
}

var topologies = []topology{
	{"all-to-all", func(n int) [][]int {
		out := make([][]int, n)
		for i := range n {
			for j := range n {
				if i != j {
					out[i] = append(out[i], j)
				}
			}
		}
		return out
	}},
	{"star", func(n int) [][]int { // leader 0 is the hub
		out := make([][]int, n)
		for i := 1; i < n; i++ {
			out[0] = append(out[0], i)
			out[i] = []int{0}
		}
		return out
	}},
	{"ring", func(n int) [][]int {
		out := make([][]int, n)
		for i := range n {
			out[i] = []int{(i + n - 1) % n, (i + 1) % n}
			slices.Sort(out[i])
		}
		return out
	}},
}

// convergeLeaders is how many leaders each topology runs; 5 makes the ring
// a ring (two neighbours out of four others) and gives it diameter 2.
const convergeLeaders = 5

// TestConvergence runs leaders, each a repository served by its own folio
// serve process, linked all-to-all, as a star and as a ring. Phase 1:
// applications write concurrently through each leader's document API (new
// documents, edits of shared JSON and text documents, deletes, and
// conflicting edits of the same field on different leaders) while folio
// sync jobs run in random order, some at the same time. Phase 2: writes
// stop and quiet rounds of syncs run. Then every leader must have the same
// head, the same documents, every clean change its application made, and
// every commit a write acknowledged in its history; fsck must be clean and
// every server must stop cleanly on SIGTERM. FOLIO_SEED=N replays the
// random choices (not the timing).
func TestConvergence(t *testing.T) {
	t.Parallel()
	seed := testSeed(t)
	for i, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			t.Parallel()
			runConvergence(t, topo, convergeLeaders, seed+uint64(i))
		})
	}
}

// leader is one repository and the folio serve process serving it.
type leader struct {
	name string // its remote name on the others: l0, l1, ...
	dir  string
	srv  *folioServer
}

func runConvergence(t *testing.T, topo topology, n int, seed uint64) {
	e := newE2E(t)
	links := topo.links(n)
	leaders, seeded := startLeaders(t, e, n, links)
	t.Logf("%s: %d leaders, diameter %d", topo.name, n, diameter(links))
	writers := writeWhileSyncing(t, e, leaders, seed)
	quietSyncs(t, e, leaders, links)
	checkConverged(t, leaders, writers)
	for _, l := range leaders {
		l.srv.stop(t)
	}
	acked := slices.Clone(seeded)
	for _, w := range writers {
		acked = append(acked, w.commits...)
	}
	for _, l := range leaders {
		e.fsckClean(l.dir, l.name)
		history := reachable(t, l.dir, "main")
		for _, id := range acked {
			if !history[id] {
				t.Errorf("%s: acknowledged commit %s is not in the history of main", l.name, id.Short())
			}
		}
	}
	t.Logf("%d writes acknowledged, %d commits in the history", len(acked), len(reachable(t, leaders[0].dir, "main")))
}

// writeWhileSyncing is phase 1: an application writes on every leader
// while sync jobs run; then each application writes once more, so that
// phase 2 starts from as many heads as leaders.
func writeWhileSyncing(t *testing.T, e *e2e, leaders []*leader, seed uint64) []*writer {
	t.Helper()
	start := time.Now()
	writers := make([]*writer, len(leaders))
	var writing sync.WaitGroup
	for i, l := range leaders {
		writers[i] = newWriter(i, l.srv.url, rand.New(rand.NewPCG(seed, uint64(100+i))))
		writing.Go(func() { writers[i].run(24) })
	}
	writesDone := make(chan struct{})
	go func() { writing.Wait(); close(writesDone) }()
	jobs := syncJobs(e, leaders, rand.New(rand.NewPCG(seed, 1)), writesDone)
	for _, w := range writers {
		if w.err == nil {
			w.err = w.putOwn()
		}
	}
	for _, w := range writers {
		if w.err != nil {
			t.Fatalf("%s's application: %v", w.name, w.err)
		}
	}
	merged, conflicted, retries, most, remoteSyncs := 0, 0, 0, 0, 0
	for _, res := range jobs {
		if res.code != 0 && res.code != exitConflicts {
			t.Fatalf("a sync job during the writes failed:\n%v", res)
		}
		if res.code == exitConflicts {
			conflicted++
		}
		var reports []syncReport
		if err := json.Unmarshal([]byte(res.stdout), &reports); err != nil {
			t.Fatalf("sync --json: %v\n%v", err, res)
		}
		for _, rep := range reports {
			retries += rep.Attempts - 1
			remoteSyncs++
			most = max(most, rep.Attempts)
			for _, b := range rep.Branches {
				if b.Action == "merged" {
					merged++
				}
			}
		}
	}
	t.Logf("phase 1: %v, %d sync jobs (%d syncs with a remote): %d merges, %d jobs recorded conflicts, %d retries after lost races (at most %d attempts)",
		time.Since(start).Round(time.Millisecond), len(jobs), remoteSyncs, merged, conflicted, retries, most)
	return writers
}

// quietSyncs is phase 2: with no more writes, rounds of syncs in the order
// quietRounds gives, then one more sync of each leader, which must find
// nothing to do: a converged state is a fixed point.
func quietSyncs(t *testing.T, e *e2e, leaders []*leader, links [][]int) {
	t.Helper()
	for r, order := range quietRounds(links) {
		for _, i := range order {
			if res := syncLeader(e, leaders[i]); res.code != 0 && res.code != exitConflicts {
				t.Fatalf("quiet round %d: %v", r+1, res)
			}
		}
	}
	for _, l := range leaders {
		checkNothingToSync(t, syncLeader(e, l))
	}
}

// Shared documents every leader edits.
const (
	stateKey  = "shared/state.json" // {"contested": ..., "l0": ..., "l1": ...}
	notesKey  = "shared/notes.txt"  // a line per leader, and a contested line
	victims   = 3                   // shared/victim-K.txt: modified or deleted by anyone
	contested = "contested"
)

func victimKey(k int) string { return fmt.Sprintf("shared/victim-%d.txt", k) }

// startLeaders makes l0 with the shared documents, clones it into the
// other leaders, serves them all, and links them. It returns the commits
// of the shared documents.
func startLeaders(t *testing.T, e *e2e, n int, links [][]int) ([]*leader, []objects.ID) {
	root := t.TempDir()
	leaders := make([]*leader, n)
	for i := range leaders {
		leaders[i] = &leader{name: fmt.Sprintf("l%d", i), dir: filepath.Join(root, fmt.Sprintf("l%d", i))}
	}
	first := leaders[0]
	e.must(root, "init", first.dir)
	first.srv = e.serve(first.dir)
	state := map[string]string{contested: "start"}
	notes := []string{"# shared notes"}
	for i := range n {
		state[fmt.Sprintf("l%d", i)] = "start"
		// Lines that no one edits keep the leaders' edits from touching.
		notes = append(notes, fmt.Sprintf("l%d: start", i), fmt.Sprintf("gap %d a", i), fmt.Sprintf("gap %d b", i), fmt.Sprintf("gap %d c", i))
	}
	notes = append(notes, contested+": start", "# end")
	stateJSON, _ := json.Marshal(state)
	docs := map[string][]byte{stateKey: stateJSON, notesKey: []byte(strings.Join(notes, "\n") + "\n")}
	for k := range victims {
		docs[victimKey(k)] = fmt.Appendf(nil, "victim %d: start\n", k)
	}
	var seeded []objects.ID
	for _, key := range slices.Sorted(maps.Keys(docs)) {
		st, commit, err := writeDoc(first.srv.url, key, docs[key])
		if err != nil || st != http.StatusCreated {
			t.Fatalf("seeding %s: %d %v", key, st, err)
		}
		seeded = append(seeded, commit)
	}
	for _, l := range leaders[1:] {
		e.must(root, "clone", first.srv.url, l.dir)
		e.must(l.dir, "remote", "remove", "origin") // the topology says who syncs with whom
		l.srv = e.serve(l.dir)
	}
	for i, l := range leaders {
		for _, j := range links[i] {
			e.must(l.dir, "remote", "add", leaders[j].name, leaders[j].srv.url)
		}
	}
	return leaders, seeded
}

// syncLeader runs a sync job for one leader: 'folio sync', which its server
// runs since it holds the repository.
func syncLeader(e *e2e, l *leader) result {
	return e.run(filepath.Dir(l.dir), "sync", "--json", "--repo", l.dir)
}

// syncJobs runs sync jobs on random leaders, one to three at a time, until
// the writes are done.
func syncJobs(e *e2e, leaders []*leader, rng *rand.Rand, writesDone <-chan struct{}) []result {
	var out []result
	for !closed(writesDone) {
		batch := make([]result, 1+rng.IntN(3))
		var wg sync.WaitGroup
		for k := range batch {
			l := leaders[rng.IntN(len(leaders))]
			wg.Go(func() { batch[k] = syncLeader(e, l) })
		}
		wg.Wait()
		out = append(out, batch...)
		time.Sleep(time.Duration(rng.IntN(50)) * time.Millisecond)
	}
	return out
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// quietRounds returns the order of the leaders in each quiet round:
// diameter+1 rounds that alternate between gathering and scattering.
//
// A sync of leader X with a remote leaves both on the same head, which
// contains both their heads (a fast-forward, or the merge commit that any
// leader would make). In a gathering round the leaders sync in reverse BFS
// order from l0, so l0 goes last: each leader X syncs after everything
// farther from l0 than X, and every head a leader ends the round with was
// last set by a sync of a leader later in the order, so it is contained in
// the head l0 ends with. In a scattering round, BFS order from l0: l0
// pushes its head H to its neighbours, which fast-forward to it; each
// following leader already has H when it syncs (its BFS parent synced
// before it) and every remote it meets holds H or an ancestor of H, so
// nothing but H is ever made. Two rounds suffice whatever the topology, and
// diameter+1 is at least two; the rounds after the second must change
// nothing (checkNothingToSync checks one more round afterwards).
//
// The same order in every round is not enough, and may never converge:
// once every leader holds every write, a leader that syncs before the head
// being spread reaches it still merges two different heads into a new
// commit. In a ring of seven leaders synced in BFS order every round makes
// new merge commits of the same documents, forever (TestQuietRounds shows
// it on a model of sync).
func quietRounds(links [][]int) [][]int {
	scatter := bfsOrder(links, 0)
	gather := slices.Clone(scatter)
	slices.Reverse(gather)
	var rounds [][]int
	for r := range diameter(links) + 1 {
		if r%2 == 0 {
			rounds = append(rounds, gather)
		} else {
			rounds = append(rounds, scatter)
		}
	}
	return rounds
}

func bfsOrder(links [][]int, from int) []int {
	order := []int{from}
	seen := map[int]bool{from: true}
	for k := 0; k < len(order); k++ {
		for _, j := range links[order[k]] {
			if !seen[j] {
				seen[j] = true
				order = append(order, j)
			}
		}
	}
	return order
}

// diameter is the longest of the shortest paths between two leaders.
func diameter(links [][]int) int {
	longest := 0
	for from := range links {
		dist := map[int]int{from: 0}
		for _, i := range bfsOrder(links, from) {
			for _, j := range links[i] {
				if _, ok := dist[j]; !ok {
					dist[j] = dist[i] + 1
				}
			}
			longest = max(longest, dist[i])
		}
	}
	return longest
}

// syncReport is the part of 'folio sync --json' the test reads.
type syncReport struct {
	Remote          string `json:"remote"`
	Attempts        int    `json:"attempts"`
	ObjectsSent     int    `json:"objects_sent"`
	ObjectsReceived int    `json:"objects_received"`
	Branches        []struct {
		Branch string `json:"branch"`
		Action string `json:"action"`
	} `json:"branches"`
	Error string `json:"error"`
}

func checkNothingToSync(t *testing.T, res result) {
	t.Helper()
	var reports []syncReport
	if res.code != 0 {
		t.Fatalf("a sync after convergence: %v", res)
	}
	if err := json.Unmarshal([]byte(res.stdout), &reports); err != nil {
		t.Fatalf("sync --json: %v\n%v", err, res)
	}
	for _, rep := range reports {
		for _, b := range rep.Branches {
			if b.Action != "up-to-date" || rep.ObjectsSent+rep.ObjectsReceived > 0 {
				t.Fatalf("a sync after convergence still had work to do:\n%v", res)
			}
		}
	}
}

// checkConverged compares the leaders' heads and documents, and checks
// that the clean changes each application made survived the merges.
func checkConverged(t *testing.T, leaders []*leader, writers []*writer) {
	t.Helper()
	head := mainHead(t, leaders[0].srv)
	want, err := listDocs(leaders[0].srv.url)
	if err != nil {
		t.Fatal(err)
	}
	contents := map[string][]byte{}
	for _, l := range leaders {
		if h := mainHead(t, l.srv); h != head {
			t.Fatalf("%s's main is at %s, l0's at %s", l.name, h.Short(), head.Short())
		}
		got, err := listDocs(l.srv.url)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s lists other documents than l0:\n%v\nl0:\n%v", l.name, got, want)
		}
		for _, d := range got {
			content, _, found, err := readDoc(l.srv.url, d.Key)
			if err != nil || !found {
				t.Fatalf("%s: reading listed document %s: found %v, %v", l.name, d.Key, found, err)
			}
			if prev, ok := contents[d.Key]; ok && !bytes.Equal(prev, content) {
				t.Fatalf("%s reads %s differently from l0", l.name, d.Key)
			}
			contents[d.Key] = content
		}
	}
	checkCleanChanges(t, contents, writers)
}

// checkCleanChanges: a document only one leader writes ends as it last
// wrote it; each leader's own field and line of the shared documents end
// with its last value; a contested place ends with a value someone wrote.
func checkCleanChanges(t *testing.T, docs map[string][]byte, writers []*writer) {
	t.Helper()
	written := map[string]bool{"start": true}
	for _, w := range writers {
		for v := range w.contestedValues {
			written[v] = true
		}
	}
	var state map[string]string
	if err := json.Unmarshal(docs[stateKey], &state); err != nil {
		t.Fatalf("%s: %v\n%s", stateKey, err, docs[stateKey])
	}
	lines := noteLines(docs[notesKey])
	for _, w := range writers {
		for key, content := range w.own {
			got, found := docs[key]
			switch {
			case content == nil && found:
				t.Errorf("%s was deleted by its only writer but exists: %q", key, got)
			case content != nil && !bytes.Equal(got, content):
				t.Errorf("%s: %q, but its only writer last wrote %q", key, got, content)
			}
		}
		if got := state[w.name]; got != w.field {
			t.Errorf("%s field %q is %q, but %s last wrote %q", stateKey, w.name, got, w.name, w.field)
		}
		if got := lines[w.name]; got != w.line {
			t.Errorf("%s line %q is %q, but %s last wrote %q", notesKey, w.name, got, w.name, w.line)
		}
	}
	if !written[state[contested]] || !written[lines[contested]] {
		t.Errorf("the contested values %q and %q are not values anyone wrote", state[contested], lines[contested])
	}
	for k := range victims {
		if content, ok := docs[victimKey(k)]; ok && !written[victimValue(content)] {
			t.Errorf("%s is %q, which no one wrote", victimKey(k), content)
		}
	}
}

// noteLines maps the labels of the notes' "label: value" lines to values.
func noteLines(content []byte) map[string]string {
	out := map[string]string{}
	for line := range strings.SplitSeq(string(content), "\n") {
		if label, value, ok := strings.Cut(line, ": "); ok {
			out[label] = value
		}
	}
	return out
}

func victimValue(content []byte) string {
	_, v, _ := strings.Cut(strings.TrimSpace(string(content)), ": ")
	return v
}

// writer is the application of one leader: it writes through the document
// API and remembers what the server acknowledged.
type writer struct {
	i    int
	name string
	url  string
	rng  *rand.Rand
	ops  int // values are unique: name-ops

	commits         []objects.ID      // every commit a write returned
	own             map[string][]byte // documents only it writes: last content, nil when deleted
	field, line     string            // last values of its field in stateKey and line in notesKey
	contestedValues map[string]bool   // values it wrote to the contested field, line and victims
	err             error
}

func newWriter(i int, url string, rng *rand.Rand) *writer {
	return &writer{i: i, name: fmt.Sprintf("l%d", i), url: url, rng: rng,
		own: map[string][]byte{}, field: "start", line: "start", contestedValues: map[string]bool{}}
}

// run makes count writes, with short pauses, and stops at the first error.
func (w *writer) run(count int) {
	for range count {
		if w.err = w.step(); w.err != nil {
			return
		}
		time.Sleep(time.Duration(w.rng.IntN(500)) * time.Millisecond)
	}
}

func (w *writer) value() string {
	w.ops++
	return fmt.Sprintf("%s-%d", w.name, w.ops)
}

func (w *writer) step() error {
	switch p := w.rng.IntN(100); {
	case p < 30:
		return w.putOwn()
	case p < 38:
		return w.deleteOwn()
	case p < 53:
		v := w.value()
		return w.update(stateKey, func(doc []byte) ([]byte, error) { return setField(doc, w.name, v) }, func() { w.field = v })
	case p < 68:
		v := w.value()
		return w.update(notesKey, func(doc []byte) ([]byte, error) { return setLine(doc, w.name, v) }, func() { w.line = v })
	case p < 78:
		v := w.value()
		return w.update(stateKey, func(doc []byte) ([]byte, error) { return setField(doc, contested, v) }, func() { w.contestedValues[v] = true })
	case p < 88:
		v := w.value()
		return w.update(notesKey, func(doc []byte) ([]byte, error) { return setLine(doc, contested, v) }, func() { w.contestedValues[v] = true })
	}
	return w.victim()
}

// putOwn writes a new or existing document of its own: JSON, text or binary.
func (w *writer) putOwn() error {
	k := w.rng.IntN(len(w.own) + 2)
	key := fmt.Sprintf("own/%s/d%d.%s", w.name, k, []string{"json", "txt", "bin"}[k%3])
	pad := make([]byte, 16+w.rng.IntN(600))
	for i := range pad {
		pad[i] = 'a' + byte(w.rng.IntN(26))
	}
	var content []byte
	switch k % 3 {
	case 0:
		content = fmt.Appendf(nil, `{"by": %q, "value": %q, "pad": %q}`, w.name, w.value(), pad)
	case 1:
		content = fmt.Appendf(nil, "%s\n%s\n", w.value(), pad)
	default:
		content = append(fmt.Appendf(nil, "%s\x00", w.value()), pad...)
	}
	return w.write(key, content, func() { w.own[key] = content })
}

func (w *writer) deleteOwn() error {
	var live []string
	for key, content := range w.own {
		if content != nil {
			live = append(live, key)
		}
	}
	if len(live) == 0 {
		return w.putOwn()
	}
	slices.Sort(live) // map order is random; the seed should decide
	key := live[w.rng.IntN(len(live))]
	return w.write(key, nil, func() { w.own[key] = nil })
}

// victim modifies or deletes a shared document that others may be
// modifying or deleting too.
func (w *writer) victim() error {
	key := victimKey(w.rng.IntN(victims))
	if w.rng.IntN(3) == 0 {
		st, commit, err := writeDoc(w.url, key, nil)
		if err != nil || st == http.StatusNotFound { // already deleted here
			return err
		}
		return w.acked(http.MethodDelete, key, st, commit, func() {})
	}
	v := w.value()
	return w.write(key, fmt.Appendf(nil, "victim: %s\n", v), func() { w.contestedValues[v] = true })
}

func (w *writer) write(key string, content []byte, done func()) error {
	st, commit, err := writeDoc(w.url, key, content)
	if err != nil {
		return err
	}
	return w.acked("write", key, st, commit, done)
}

func (w *writer) acked(what, key string, st int, commit objects.ID, done func()) error {
	if st != http.StatusOK && st != http.StatusCreated {
		return fmt.Errorf("%s %s: status %d", what, key, st)
	}
	w.commits = append(w.commits, commit)
	done()
	return nil
}

// update reads a document, edits it and writes it back only if it is
// still the version read (If-Match), as a careful application does: else a
// sync that merged meanwhile would be undone by the write.
func (w *writer) update(key string, edit func([]byte) ([]byte, error), done func()) error {
	for range 100 {
		doc, etag, found, err := readDoc(w.url, key)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%s is gone from %s", key, w.name)
		}
		next, err := edit(doc)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		st, commit, err := writeDoc(w.url, key, next, "If-Match: "+etag)
		if err != nil {
			return err
		}
		if st == http.StatusPreconditionFailed {
			continue // changed since read: read again
		}
		return w.acked("update", key, st, commit, done)
	}
	return fmt.Errorf("%s: every conditional write found another version", key)
}

func setField(doc []byte, name, value string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("%w: %q", err, doc)
	}
	m[name] = value
	return json.Marshal(m)
}

func setLine(doc []byte, label, value string) ([]byte, error) {
	lines := strings.Split(string(doc), "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, label+": ") {
			lines[i] = label + ": " + value
			return []byte(strings.Join(lines, "\n")), nil
		}
	}
	return nil, fmt.Errorf("no line %q in %q", label, doc)
}

// TestQuietRounds checks the argument of quietRounds on a model of sync:
// commits are numbers with their ancestors, and converging two heads gives
// the one that contains the other, or their merge (the same merge for the
// same pair, as on real leaders). From random states left by writes and
// partial syncs, two rounds bring every topology to one head, and later
// rounds change nothing. With one order in every round, a ring of seven
// leaders that each made one commit never converges.
func TestQuietRounds(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, topo := range topologies {
		for n := 2; n <= 8; n++ {
			links := topo.links(n)
			for trial := range 200 {
				dag := newModelDAG()
				heads := make([]int, n)
				for range rng.IntN(4 * n) {
					x := rng.IntN(n)
					if rng.IntN(2) == 0 {
						heads[x] = dag.commit(heads[x])
					} else {
						dag.sync(heads, links, x)
					}
				}
				for x := range heads {
					heads[x] = dag.commit(heads[x])
				}
				for r, order := range quietRounds(links) {
					for _, x := range order {
						dag.sync(heads, links, x)
					}
					if r == 0 {
						continue
					}
					for x := range heads {
						if heads[x] != heads[0] {
							t.Fatalf("%s of %d, trial %d: after round %d leader %d is at %d, leader 0 at %d",
								topo.name, n, trial, r+1, x, heads[x], heads[0])
						}
					}
				}
			}
		}
	}

	// The same BFS order in every round never converges a ring of seven:
	// every round merges heads that hold every commit into new merges.
	links := topologies[2].links(7)
	dag := newModelDAG()
	heads := make([]int, len(links))
	for x := range heads {
		heads[x] = dag.commit(0)
	}
	for range 20 {
		for _, x := range bfsOrder(links, 0) {
			dag.sync(heads, links, x)
		}
	}
	if slices.Equal(heads, slices.Repeat(heads[:1], len(heads))) {
		t.Errorf("20 rounds in BFS order converged a ring of 7 (quietRounds' comment is wrong)")
	}
}

// modelDAG is a history of numbered commits; 0 is the empty history.
type modelDAG struct {
	ancestors []map[int]bool // of each commit, itself included
	merges    map[[2]int]int
}

func newModelDAG() *modelDAG {
	return &modelDAG{ancestors: []map[int]bool{{0: true}}, merges: map[[2]int]int{}}
}

func (d *modelDAG) commit(parents ...int) int {
	id := len(d.ancestors)
	anc := map[int]bool{id: true}
	for _, p := range parents {
		maps.Copy(anc, d.ancestors[p])
	}
	d.ancestors = append(d.ancestors, anc)
	return id
}

func (d *modelDAG) converge(a, b int) int {
	switch {
	case d.ancestors[a][b]:
		return a
	case d.ancestors[b][a]:
		return b
	}
	pair := [2]int{min(a, b), max(a, b)}
	if m, ok := d.merges[pair]; ok {
		return m
	}
	d.merges[pair] = d.commit(a, b)
	return d.merges[pair]
}

// sync is what folio sync does on leader x: converge with each remote in
// turn, both ending on the result.
func (d *modelDAG) sync(heads []int, links [][]int, x int) {
	for _, r := range links[x] {
		h := d.converge(heads[x], heads[r])
		heads[x], heads[r] = h, h
	}
}
