package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// runAsFolio makes the test binary act as the folio command when this
// variable is set, so tests can start and kill real folio processes.
const runAsFolio = "FOLIO_TEST_RUN_AS_FOLIO"

func init() {
	if os.Getenv(runAsFolio) == "1" {
		os.Exit(Main())
	}
}

// folioCmd prepares a real folio process working in dir.
func folioCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), runAsFolio+"=1",
		"FOLIO_AUTHOR_NAME=Crash Test", "FOLIO_AUTHOR_EMAIL=crash@example.com",
		"FOLIO_CONFIG_GLOBAL="+filepath.Join(dir, "global.json"))
	return cmd
}

func mustFolio(t *testing.T, dir string, args ...string) {
	t.Helper()
	if out, err := folioCmd(dir, args...).CombinedOutput(); err != nil {
		t.Fatalf("folio %v: %v\n%s", args, err, out)
	}
}

// TestCrashSafety kills real folio processes with SIGKILL at random moments
// during import, put and commit. After every kill the repository must open,
// fsck must be clean, and the branch must point at the commit it pointed at
// before or at the one the killed commit was making.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills a few hundred processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	// 240 kills in all, in four repositories at once: the same number of
	// kills as one long run, in a quarter of the time, and each fsck walks
	// a smaller repository.
	const repositories, kills = 4, 60
	for w := range repositories {
		t.Run(fmt.Sprintf("repo%d", w), func(t *testing.T) {
			t.Parallel()
			killDuringWrites(t, seed, uint64(w), kills)
		})
	}
}

// killDuringWrites kills folio processes at random moments in one new
// repository, checking it after each kill.
func killDuringWrites(t *testing.T, seed, stream uint64, kills int) {
	rng := rand.New(rand.NewPCG(seed, 7+stream))
	dir := t.TempDir()
	mustFolio(t, dir, "init")
	src := filepath.Join(dir, "src")
	for i := range 300 {
		p := filepath.Join(src, fmt.Sprintf("d%02d", i%10), fmt.Sprintf("doc%04d.json", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, fmt.Appendf(nil, `{"n": %d, "pad": "%0900d"}`, i, i), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "one.txt"), []byte("one\n"), 0o644)
	mustFolio(t, dir, "put", "seed.txt", "one.txt")
	mustFolio(t, dir, "commit", "-m", "seed")

	ops := []struct {
		name string
		args func(i int) []string
	}{
		{"import", func(i int) []string { return []string{"import", "src", "--prefix", fmt.Sprintf("run%d", i)} }},
		{"put", func(i int) []string { return []string{"put", fmt.Sprintf("put/%d.txt", i), "one.txt"} }},
		{"commit", func(i int) []string { return []string{"commit", "-m", fmt.Sprintf("commit %d", i)} }},
	}
	// How long each operation takes here, to spread the kills over it.
	took := map[string]time.Duration{}
	for i, op := range ops {
		start := time.Now()
		mustFolio(t, dir, op.args(1000+i)...)
		took[op.name] = time.Since(start)
	}

	// Only a commit moves the branch: where each check left it is where
	// the next kill starts from.
	before := branchHead(t, dir)
	for i := range kills {
		op := ops[rng.IntN(len(ops))]
		if op.name == "commit" {
			mustFolio(t, dir, "put", fmt.Sprintf("pre/%d.txt", i), "one.txt") // something to commit
		}
		cmd := folioCmd(dir, op.args(i)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(took[op.name])*3/2 + 1))
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		after := checkRepository(t, dir, fmt.Sprintf("kill %d during %s after %v (seed %d)", i, op.name, delay, seed))
		if after != before {
			if op.name != "commit" {
				t.Fatalf("kill %d: %s moved the branch from %s to %s", i, op.name, before.Short(), after.Short())
			}
			assertChild(t, dir, after, before)
		}
		before = after
	}
}

func branchHead(t *testing.T, dir string) objects.ID {
	t.Helper()
	r, err := repo.Open(context.Background(), filepath.Join(dir, repo.DirName), repo.Options{ReadOnly: true, LockWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	id, err := r.RefOrZero(context.Background(), objects.BranchPrefix+"main")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// checkRepository opens the repository after a kill, runs fsck and returns
// the branch head.
func checkRepository(t *testing.T, dir, what string) objects.ID {
	t.Helper()
	ctx := context.Background()
	r, err := repo.Open(ctx, filepath.Join(dir, repo.DirName), repo.Options{LockWait: 5 * time.Second})
	if err != nil {
		t.Fatalf("%s: open: %v", what, err)
	}
	defer r.Close()
	rep, err := r.Fsck(ctx)
	if err != nil {
		t.Fatalf("%s: fsck: %v", what, err)
	}
	if !rep.OK() {
		t.Fatalf("%s: fsck found %v", what, rep.Problems)
	}
	head, err := r.RefOrZero(ctx, objects.BranchPrefix+"main")
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return head
}

func assertChild(t *testing.T, dir string, child, parent objects.ID) {
	t.Helper()
	r, err := repo.Open(context.Background(), filepath.Join(dir, repo.DirName), repo.Options{ReadOnly: true, LockWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := r.ReadCommit(context.Background(), child)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Parents) != 1 || c.Parents[0] != parent {
		t.Fatalf("after a killed commit the branch is at %s, which is not a child of %s", child.Short(), parent.Short())
	}
}
