package badgerstore

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// The crash test's history: a chain of commits, each with an index node
// and a document blob of its own, so every step writes three objects and
// moves two refs. Every step is a pure function of the previous commit, so
// the test can compute the step after the last one the writer reported.
const (
	crashBranch = "refs/heads/main"
	crashTag    = "refs/tags/latest"
)

// chainStep returns the objects of the commit after prev (zero: the root)
// at height; the commit is the last one.
func chainStep(prev objects.ID, height uint64) []objects.Object {
	content := make([]byte, 2000+int(height%7)*3000)
	g := docGen{state: height}
	for i := range content {
		content[i] = byte('a' + g.intn(26))
	}
	blob := objects.EncodeBlob(content)
	node := (&objects.Node{Items: []objects.NodeItem{{
		Key:   "doc",
		Entry: objects.Entry{ID: blob.ID, Kind: objects.KindText, Size: uint64(len(content))},
	}}}).Encode()
	c := &objects.Commit{
		Index:   node.ID,
		Height:  height,
		Author:  objects.Signature{Name: "crash", Email: "crash@example.com"},
		Time:    time.Unix(int64(height), 0).UTC(),
		Message: fmt.Sprintf("step %d", height),
	}
	if !prev.IsZero() {
		c.Parents = []objects.ID{prev}
	}
	return []objects.Object{blob, node, c.Encode()}
}

// runCrashWriter is the child: it extends the chain forever, one Put per
// object and one UpdateRefs per step, and reports each step once
// UpdateRefs has returned: "acked <height> <id>".
func runCrashWriter(dir string) error {
	ctx := context.Background()
	s, err := Open(dir, Options{LockWait: 10 * time.Second})
	if err != nil {
		return err
	}
	head, height, err := crashHead(ctx, s)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stdout, "open")
	for {
		objs := chainStep(head, height+1)
		for _, o := range objs {
			if err := s.Put(ctx, o); err != nil {
				return err
			}
		}
		next := objs[len(objs)-1].ID
		err := s.UpdateRefs(ctx,
			objects.RefUpdate{Name: crashBranch, Old: head, New: next},
			objects.RefUpdate{Name: crashTag, Old: head, New: next},
		)
		if err != nil {
			return err
		}
		head, height = next, height+1
		fmt.Fprintf(os.Stdout, "acked %d %s\n", height, head)
	}
}

// crashHead returns the branch's commit and height (zero and 0 if absent).
func crashHead(ctx context.Context, s objects.Store) (objects.ID, uint64, error) {
	id, err := s.Ref(ctx, crashBranch)
	if err != nil {
		if isNotFound(err) {
			return objects.ID{}, 0, nil
		}
		return id, 0, err
	}
	data, err := s.Get(ctx, id)
	if err != nil {
		return id, 0, err
	}
	c, err := objects.DecodeCommit(data)
	if err != nil {
		return id, 0, err
	}
	return id, c.Height, nil
}

// TestCrashSafety kills a writer at random moments and checks after each
// kill that the store opens (read-only, which needs the fallback to a
// read-write open after an unclean shutdown), that both refs moved
// together, that the branch holds the last step the writer reported or the
// one after it, and that every object the branch reaches is stored and
// verifies. FOLIO_CRASH_SEED replays a run.
func TestCrashSafety(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if env := os.Getenv("FOLIO_CRASH_SEED"); env != "" {
		var err error
		if seed, err = strconv.ParseUint(env, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (rerun with FOLIO_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	const kills = 30

	dir := newStoreDir(t)
	var acked objects.ID // the last step any writer reported
	var ackedHeight uint64
	verified := map[objects.ID]bool{}
	for kill := range kills {
		lastID, lastHeight := runAndKill(t, dir, killPoint(rng))
		if !lastID.IsZero() {
			acked, ackedHeight = lastID, lastHeight
		}
		s := openTemp(t, dir, Options{ReadOnly: true})
		head, height := checkAfterCrash(t, s, acked, ackedHeight, kill)
		verifyChain(t, s, head, verified)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		acked, ackedHeight = head, height
	}
	if ackedHeight < kills/2 {
		t.Errorf("the writers made only %d steps in %d runs: the test hardly wrote", ackedHeight, kills)
	}
	// Everything is still there and reachable, from the root up.
	s := openTemp(t, dir, Options{ReadOnly: true})
	defer s.Close()
	verifyChain(t, s, acked, map[objects.ID]bool{})
	t.Logf("%d steps written over %d kills", ackedHeight, kills)
}

// A killAt says when to kill the writer. Counting the writer's own reports
// rather than wall time keeps the kills spread over its work however loaded
// the machine is: a fixed delay on a slow machine kills every writer
// before its first step.
type killAt struct {
	afterOpen bool          // wait for the store to be open (else from start)
	steps     int           // then for this many acknowledged steps
	delay     time.Duration // then this long
}

// killPoint picks a kill: one in four lands anywhere in start-up and
// recovery, the rest within the first few steps after the store is open.
func killPoint(rng *rand.Rand) killAt {
	if rng.IntN(4) == 0 {
		return killAt{delay: time.Duration(rng.IntN(150)) * time.Millisecond}
	}
	return killAt{afterOpen: true, steps: rng.IntN(4), delay: time.Duration(rng.IntN(20)) * time.Millisecond}
}

// runAndKill runs a writer, SIGKILLs it at the kill point, and returns the
// last step it reported.
func runAndKill(t *testing.T, dir string, at killAt) (objects.ID, uint64) {
	t.Helper()
	cmd := helperCmd("crash-writer", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type ack struct {
		id     objects.ID
		height uint64
	}
	last := make(chan ack, 1)
	progress := make(chan struct{}, 1) // a report: "open" or a step
	done := make(chan struct{})        // the writer's output ended
	go func() {
		defer close(done)
		var a ack
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var hex string
			if _, err := fmt.Sscanf(sc.Text(), "acked %d %s", &a.height, &hex); err == nil {
				a.id = objects.MustParseID(hex)
			} else if sc.Text() != "open" {
				continue
			}
			select {
			case progress <- struct{}{}:
			default:
			}
		}
		last <- a
	}()
	waits := 0
	if at.afterOpen {
		waits = 1 + at.steps
	}
	for range waits {
		select {
		case <-progress:
		case <-done:
		}
	}
	time.Sleep(at.delay)
	cmd.Process.Signal(syscall.SIGKILL)
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("writer ended before it was killed: %v\n%s", err, stderr.String())
	}
	a := <-last
	return a.id, a.height
}

// checkAfterCrash checks the refs after a kill and returns the head.
func checkAfterCrash(t *testing.T, s *Store, acked objects.ID, ackedHeight uint64, kill int) (objects.ID, uint64) {
	t.Helper()
	ctx := t.Context()
	head, height, err := crashHead(ctx, s)
	if err != nil {
		t.Fatalf("after kill %d: %v", kill, err)
	}
	next := chainStep(acked, ackedHeight+1)
	if head != acked && head != next[len(next)-1].ID {
		t.Fatalf("after kill %d: the branch is at %s (height %d); the writer reported %s (height %d) last, so only that or the step after it can be",
			kill, head.Short(), height, acked.Short(), ackedHeight)
	}
	tag, err := s.Ref(ctx, crashTag)
	if head.IsZero() && !isNotFound(err) || !head.IsZero() && tag != head {
		t.Fatalf("after kill %d: the branch is at %s but the tag at %s, %v: one batch of ref updates half applied",
			kill, head.Short(), tag.Short(), err)
	}
	return head, height
}

// verifyChain checks that every object reachable from head is stored and
// verifies, down to the root or to a commit verified before.
func verifyChain(t *testing.T, s *Store, head objects.ID, verified map[objects.ID]bool) {
	t.Helper()
	ctx := t.Context()
	get := func(id objects.ID) []byte {
		data, err := s.Get(ctx, id)
		if err != nil {
			t.Fatalf("object %s reachable from the branch: %v", id.Short(), err)
		}
		if err := objects.Verify(id, data); err != nil {
			t.Fatalf("object %s reachable from the branch: %v", id.Short(), err)
		}
		return data
	}
	for id := head; !id.IsZero() && !verified[id]; {
		c, err := objects.DecodeCommit(get(id))
		if err != nil {
			t.Fatal(err)
		}
		n, err := objects.DecodeNode(get(c.Index))
		if err != nil {
			t.Fatal(err)
		}
		get(n.Items[0].Entry.ID)
		verified[id] = true
		id = objects.ID{}
		if len(c.Parents) > 0 {
			id = c.Parents[0]
		}
	}
}
