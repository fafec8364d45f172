//go:build unix

package main

// End-to-end benchmarks of the folio CLI against git, on the same generated
// documents, in the same run, so that the ratios hold however noisy the
// machine is. Every figure is a real process started the way a user starts
// it (process start included). Run them with
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 60m ./cmd/folio/
//
// (a whole run takes minutes: it writes the corpus once, imports it three
// times with each tool and packs it once with git gc). FOLIO_BENCH_DOCS
// overrides the number of documents (100,000), FOLIO_BENCH_BIN runs a
// built folio binary instead of this test binary (e.g. bin/folio from
// `make build`), and TMPDIR says where the corpus and repositories go.
//
// Both tools read the same flat folder of JSON files: folio imports it into
// its own repository folder, and git uses it as its work tree with a
// separate git dir, so neither copies anything the other does not. git runs
// with its defaults except that automatic gc is off: it would otherwise
// pack in the background after the big commit and steal the CPU from the
// measurements that follow.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects/repo"
	"golang.org/x/sync/errgroup"
)

const (
	benchDocsDefault = 100_000
	benchSeed        = 20260102
	// Operations that take milliseconds are repeated and their median kept.
	changeRuns = 7
	readRuns   = 21
	// Start-up takes a few milliseconds and varies most on a shared
	// machine: those comparisons take more runs.
	startRuns = 201
)

// --- the shared folder, removed when the benchmark binary exits ---

// benchReaperEnv makes the test binary wait for its standard input to close
// and then remove the named folder. The benchmark process starts one and
// holds the other end of the pipe, so the folder goes away when the process
// ends, however it ends: there is no hook after the last benchmark here
// (TestMain belongs to testscript).
const benchReaperEnv = "FOLIO_BENCH_REMOVE_ON_EOF"

func init() {
	if dir := os.Getenv(benchReaperEnv); dir != "" {
		io.Copy(io.Discard, os.Stdin)
		os.RemoveAll(dir)
		os.Exit(0)
	}
}

var shared struct {
	mu     sync.Mutex
	dir    string
	reaper *os.File // the write end of the reaper's stdin; kept open until exit
	corpus *benchCorpus
	repos  *benchRepos
}

// sharedDir returns the folder that holds the corpus and the repositories
// every benchmark of this run shares. Callers hold shared.mu.
func sharedDir() (string, error) {
	if shared.dir != "" {
		return shared.dir, nil
	}
	dir, err := os.MkdirTemp("", "folio-bench-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(testBinary())
	cmd.Env = append(os.Environ(), benchReaperEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // survives ^C to clean up
	w, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	shared.dir, shared.reaper = dir, w.(*os.File)
	return dir, nil
}

// testBinary is this test binary's absolute path: os.Args[0] may be
// relative, and the processes run in other folders.
var testBinary = sync.OnceValue(func() string {
	if exe, err := os.Executable(); err == nil {
		return exe
	}
	exe, _ := filepath.Abs(os.Args[0])
	return exe
})

func skipUnlessBench(b *testing.B) {
	b.Helper()
	if testing.Short() {
		b.Skip("end-to-end benchmark: skipped with -short")
	}
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git is not installed")
	}
}

// --- the corpus: a flat folder of varied JSON documents of about 1 KiB ---

type benchCorpus struct {
	dir   string
	names []string // file names (= folio keys), in generation order
	bytes int64
}

func benchDocCount(b *testing.B) int {
	b.Helper()
	v := os.Getenv("FOLIO_BENCH_DOCS")
	if v == "" {
		return benchDocsDefault
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("FOLIO_BENCH_DOCS=%q: want a positive number", v)
	}
	return n
}

// sharedCorpus generates the corpus once per benchmark binary run.
func sharedCorpus(b *testing.B) *benchCorpus {
	b.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.corpus != nil {
		return shared.corpus
	}
	dir, err := sharedDir()
	if err != nil {
		b.Fatal(err)
	}
	n := benchDocCount(b)
	start := time.Now()
	c, err := writeCorpus(filepath.Join(dir, "docs"), benchSeed, n)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("corpus: %d documents, %d bytes (mean %d B) in %v", n, c.bytes, c.bytes/int64(n), rnd(time.Since(start)))
	shared.corpus = c
	return c
}

func writeCorpus(dir string, seed uint64, n int) (*benchCorpus, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := &benchCorpus{dir: dir, names: make([]string, n)}
	seen := make(map[string]bool, n)
	for i := range n {
		c.names[i] = benchDocName(seed, i)
		if seen[c.names[i]] {
			return nil, fmt.Errorf("corpus: duplicate name %s", c.names[i])
		}
		seen[c.names[i]] = true
	}
	sizes := make([]int64, n)
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0) * 2)
	for i := range n {
		g.Go(func() error {
			data := benchDocument(seed, i, 1)
			sizes[i] = int64(len(data))
			return os.WriteFile(filepath.Join(dir, c.names[i]), data, 0o644)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, s := range sizes {
		c.bytes += s
	}
	return c, nil
}

// benchDocName is document i's file name: a UUID-like id, so that names
// sort in no relation to the order they were made in.
func benchDocName(seed uint64, i int) string {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x.json",
		rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, 0x8000|rng.Uint32()&0x3fff, rng.Uint64()&0xffffffffffff)
}

type benchAddress struct {
	Street   string     `json:"street"`
	City     string     `json:"city"`
	Postcode string     `json:"postcode"`
	Country  string     `json:"country"`
	Geo      [2]float64 `json:"geo"`
}

type benchOrder struct {
	ID       string          `json:"id"`
	Placed   string          `json:"placed"`
	Status   string          `json:"status"`
	Currency string          `json:"currency"`
	Cents    int             `json:"total_cents"`
	Items    []benchLineItem `json:"items"`
}

type benchLineItem struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type benchRecord struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Version   int    `json:"version"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	Name      struct {
		First string `json:"first"`
		Last  string `json:"last"`
	} `json:"name"`
	Email       string       `json:"email"`
	Phone       string       `json:"phone"`
	Active      bool         `json:"active"`
	Score       float64      `json:"score"`
	Address     benchAddress `json:"address"`
	Tags        []string     `json:"tags"`
	Orders      []benchOrder `json:"orders"`
	Preferences struct {
		Language   string `json:"language"`
		Newsletter bool   `json:"newsletter"`
		Theme      string `json:"theme"`
	} `json:"preferences"`
	Notes string `json:"notes"`
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis", "Radia", "Tony", "Hedy", "Niklaus", "Sophie", "John", "Karen", "Leslie", "Shafi", "Whitfield"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie", "Perlman", "Hoare", "Lamarr", "Wirth", "Wilson", "McCarthy", "Jones", "Lamport", "Goldwasser", "Diffie"}
	cities     = []string{"Lisbon", "Oslo", "Kyoto", "Lagos", "Quito", "Perth", "Tallinn", "Montreal", "Pune", "Graz", "Valparaiso", "Nairobi"}
	countries  = []string{"PT", "NO", "JP", "NG", "EC", "AU", "EE", "CA", "IN", "AT", "CL", "KE"}
	streets    = []string{"Main St", "Harbour Rd", "Elm Ave", "Station Sq", "Mill Lane", "Kings Way", "Rua Augusta", "Ring Rd"}
	tagWords   = []string{"vip", "wholesale", "newsletter", "beta", "churn-risk", "referral", "b2b", "eu", "apac", "trial", "annual", "support-plus"}
	statuses   = []string{"placed", "paid", "shipped", "delivered", "returned", "cancelled"}
	currencies = []string{"EUR", "USD", "JPY", "NGN", "AUD", "CAD"}
	languages  = []string{"en", "pt", "ja", "fr", "de", "es", "no"}
	lorem      = strings.Fields(`lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor
		incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation
		ullamco laboris nisi ut aliquip ex ea commodo consequat duis aute irure dolor in reprehenderit
		in voluptate velit esse cillum dolore eu fugiat nulla pariatur excepteur sint occaecat cupidatat
		non proident sunt in culpa qui officia deserunt mollit anim id est laborum`)
)

// benchDocument is document i at a version: pretty-printed JSON of a
// customer record, about 1 KiB (a few hundred bytes either way), the same
// bytes for the same arguments. A later version changes a few fields, as
// an application's update would.
func benchDocument(seed uint64, i, version int) []byte {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	pick := func(words []string) string { return words[rng.IntN(len(words))] }
	stamp := func(after int64) string {
		return time.Unix(after+rng.Int64N(3*365*24*3600), 0).UTC().Format(time.RFC3339)
	}
	round := func(f float64, places float64) float64 { return float64(int64(f*places)) / places }

	var r benchRecord
	r.ID = strings.TrimSuffix(benchDocName(seed, i), ".json")
	r.Type = "customer"
	r.Version = version
	r.CreatedAt = stamp(1577836800) // 2020-01-01
	r.UpdatedAt = r.CreatedAt
	r.Name.First, r.Name.Last = pick(firstNames), pick(lastNames)
	r.Email = strings.ToLower(fmt.Sprintf("%s.%s%d@example.%s", r.Name.First, r.Name.Last, rng.IntN(1000), pick([]string{"com", "org", "net", "io"})))
	r.Phone = fmt.Sprintf("+%d %03d %03d %04d", 1+rng.IntN(98), rng.IntN(1000), rng.IntN(1000), rng.IntN(10000))
	r.Active = rng.IntN(5) != 0
	r.Score = round(rng.Float64()*100, 100)
	city := rng.IntN(len(cities))
	r.Address = benchAddress{
		Street: fmt.Sprintf("%d %s", 1+rng.IntN(300), pick(streets)), City: cities[city],
		Postcode: fmt.Sprintf("%05d", rng.IntN(100000)), Country: countries[city],
		Geo: [2]float64{round(rng.Float64()*180-90, 1e5), round(rng.Float64()*360-180, 1e5)},
	}
	for range 1 + rng.IntN(4) {
		r.Tags = append(r.Tags, pick(tagWords))
	}
	r.Orders = []benchOrder{}
	for o := range []int{0, 0, 1, 1, 2}[rng.IntN(5)] {
		order := benchOrder{
			ID: fmt.Sprintf("ord-%d-%d", i, o), Placed: stamp(1609459200), Status: pick(statuses),
			Currency: pick(currencies), Cents: rng.IntN(50000),
		}
		for range 1 + rng.IntN(3) {
			order.Items = append(order.Items, benchLineItem{SKU: fmt.Sprintf("SKU-%05d", rng.IntN(20000)), Qty: 1 + rng.IntN(5)})
		}
		r.Orders = append(r.Orders, order)
	}
	r.Preferences.Language = pick(languages)
	r.Preferences.Newsletter = rng.IntN(2) == 0
	r.Preferences.Theme = pick([]string{"light", "dark", "system"})
	// The notes fill the document up to its target size, about 1 KiB.
	target := 650 + rng.IntN(500)
	notes := rand.New(rand.NewPCG(rng.Uint64(), 0))
	var update *rand.Rand
	if version > 1 {
		// A new version touches what an update touches, from a generator
		// of its own so the rest of the document stays as it was.
		update = rand.New(rand.NewPCG(seed^uint64(version), uint64(i)))
		r.UpdatedAt = time.Unix(1672531200+update.Int64N(365*24*3600), 0).UTC().Format(time.RFC3339)
		r.Score = round(update.Float64()*100, 100)
		r.Tags = append(r.Tags, tagWords[update.IntN(len(tagWords))])
	}
	data, err := json.MarshalIndent(&r, "", "  ")
	if err != nil {
		panic(err) // plain structs of strings and numbers always encode
	}
	words := loremWords(notes, target-len(data))
	if update != nil {
		words[update.IntN(len(words))] = lorem[update.IntN(len(lorem))]
	}
	r.Notes = strings.Join(words, " ")
	if data, err = json.MarshalIndent(&r, "", "  "); err != nil {
		panic(err)
	}
	return append(data, '\n')
}

// loremWords are lorem ipsum words that take about n bytes, at least four.
func loremWords(rng *rand.Rand, n int) []string {
	var words []string
	for size := 0; size < n || len(words) < 4; size += len(words[len(words)-1]) + 1 {
		words = append(words, lorem[rng.IntN(len(lorem))])
	}
	return words
}

// --- running the two tools ---

// benchFolio is a folio process working in dir: this test binary acting as
// folio (see folioCmd), or FOLIO_BENCH_BIN.
func benchFolio(dir string, args ...string) *exec.Cmd {
	cmd := folioCmd(dir, args...)
	bin := os.Getenv("FOLIO_BENCH_BIN")
	if bin == "" {
		bin = testBinary()
	}
	cmd.Path, cmd.Args[0] = bin, bin
	return cmd
}

// benchGit is a git process with its repository in gitDir and its work tree
// in workTree, with no user or system configuration.
func benchGit(gitDir, workTree string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", append([]string{"--git-dir=" + gitDir, "--work-tree=" + workTree}, args...)...)
	cmd.Dir = workTree
	cmd.Env = benchGitEnv()
	return cmd
}

// benchGitEnv is the environment of the benchmarks' git processes: no user
// or system configuration, a fixed identity, no automatic gc.
func benchGitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=Bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=Bench", "GIT_COMMITTER_EMAIL=bench@example.com",
		"GIT_CONFIG_COUNT=3",
		"GIT_CONFIG_KEY_0=gc.auto", "GIT_CONFIG_VALUE_0=0",
		"GIT_CONFIG_KEY_1=maintenance.auto", "GIT_CONFIG_VALUE_1=false",
		"GIT_CONFIG_KEY_2=init.defaultBranch", "GIT_CONFIG_VALUE_2=main",
	)
}

// procRun is what one finished process took. CPU time (user + system)
// says more than wall time on a machine shared with other work.
type procRun struct {
	wall, cpu time.Duration
	maxRSSKiB int64
	minFaults int64 // page faults served without I/O, most of start-up's cost in a VM
	stdout    []byte
}

// runProc runs cmd to the end and measures it; a failure is an error with
// the command's standard error.
func runProc(cmd *exec.Cmd) (procRun, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return procRun{}, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
	}
	ps := cmd.ProcessState
	return procRun{wall: wall, cpu: ps.UserTime() + ps.SystemTime(), maxRSSKiB: maxRSSKiB(ps), minFaults: minFaults(ps), stdout: stdout.Bytes()}, nil
}

func minFaults(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Minflt)
	}
	return 0
}

func maxRSSKiB(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) / 1024 // bytes there, KiB on Linux
	}
	return int64(ru.Maxrss)
}

// selfMaxRSSKiB is this process's peak RSS. Linux keeps a process's peak
// across exec, and Go starts children with vfork, so no child reports a
// maxrss below what this process had when it started it.
func selfMaxRSSKiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) / 1024
	}
	return int64(ru.Maxrss)
}

// runSeq runs commands one after another and adds up their times.
func runSeq(cmds ...*exec.Cmd) ([]procRun, procRun, error) {
	var runs []procRun
	var total procRun
	for _, cmd := range cmds {
		r, err := runProc(cmd)
		if err != nil {
			return nil, total, err
		}
		runs = append(runs, r)
		total.wall += r.wall
		total.cpu += r.cpu
		total.maxRSSKiB = max(total.maxRSSKiB, r.maxRSSKiB)
	}
	return runs, total, nil
}

// --- import + commit of the corpus by both tools ---

// benchRepos are a folio and a git repository holding the corpus in one
// commit each.
type benchRepos struct {
	corpus  *benchCorpus
	folio   string // the folder holding .folio
	gitDir  string // the .git folder; its work tree is corpus.dir
	timings importTimings
}

type importTimings struct {
	folio, git               procRun // init + import/add + commit
	folioImport, folioCommit procRun
	gitAdd, gitCommit        procRun
	folioInit, gitInit       procRun
}

// importBoth makes a folio and a git repository of the corpus under dir,
// alternating which tool goes first so neither always finds the caches
// the other warmed.
func importBoth(c *benchCorpus, dir string, folioFirst bool) (*benchRepos, error) {
	r := &benchRepos{corpus: c, folio: filepath.Join(dir, "folio"), gitDir: filepath.Join(dir, "git", ".git")}
	for _, d := range []string{r.folio, filepath.Dir(r.gitDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	doFolio := func() error {
		runs, total, err := runSeq(
			benchFolio(r.folio, "init"),
			benchFolio(r.folio, "import", c.dir),
			benchFolio(r.folio, "commit", "-m", "x"))
		if err != nil {
			return err
		}
		t := &r.timings
		t.folio, t.folioInit, t.folioImport, t.folioCommit = total, runs[0], runs[1], runs[2]
		return nil
	}
	doGit := func() error {
		runs, total, err := runSeq(
			benchGit(r.gitDir, c.dir, "init", "-q"),
			benchGit(r.gitDir, c.dir, "add", "-A"),
			benchGit(r.gitDir, c.dir, "commit", "-q", "-m", "x"))
		if err != nil {
			return err
		}
		t := &r.timings
		t.git, t.gitInit, t.gitAdd, t.gitCommit = total, runs[0], runs[1], runs[2]
		return nil
	}
	first, second := doFolio, doGit
	if !folioFirst {
		first, second = doGit, doFolio
	}
	if err := first(); err != nil {
		return nil, err
	}
	if err := second(); err != nil {
		return nil, err
	}
	return r, nil
}

// sharedRepos imports the corpus once per run for the benchmarks that
// work on an imported repository. git's objects stay loose, as its commit
// leaves them with automatic gc off; BenchmarkRepoSize packs its own.
func sharedRepos(b *testing.B) *benchRepos {
	b.Helper()
	c := sharedCorpus(b)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.repos != nil {
		return shared.repos
	}
	dir, err := os.MkdirTemp(shared.dir, "repos-")
	if err != nil {
		b.Fatal(err)
	}
	r, err := importBoth(c, dir, true)
	if err != nil {
		b.Fatal(err)
	}
	shared.repos = r
	return r
}

// BenchmarkImportCommit: init, import and commit of the whole corpus, folio
// against git init, add -A and commit; and the peak memory of the folio
// import process. Targets: folio at most 1/4 of git's time, import under
// 256 MiB.
func BenchmarkImportCommit(b *testing.B) {
	skipUnlessBench(b)
	c := sharedCorpus(b)
	var folio, git, folioCPU, gitCPU []time.Duration
	var rss, gitRSS []int64
	b.ResetTimer()
	for i := range b.N {
		dir := filepath.Join(b.TempDir(), strconv.Itoa(i))
		r, err := importBoth(c, dir, i%2 == 0)
		if err != nil {
			b.Fatal(err)
		}
		t := r.timings
		folio, git = append(folio, t.folio.wall), append(git, t.git.wall)
		folioCPU, gitCPU = append(folioCPU, t.folio.cpu), append(gitCPU, t.git.cpu)
		rss, gitRSS = append(rss, t.folioImport.maxRSSKiB), append(gitRSS, t.gitAdd.maxRSSKiB)
		b.Logf("folio: init %s, import %s, commit %s", phase(t.folioInit), phase(t.folioImport), phase(t.folioCommit))
		b.Logf("git:   init %s, add %s, commit %s", phase(t.gitInit), phase(t.gitAdd), phase(t.gitCommit))
		b.Logf("maxrss floor: %d MiB, this process's peak, which its children inherit through vfork and exec", selfMaxRSSKiB()>>10)
		b.StopTimer()
		os.RemoveAll(dir) // before the next iteration, to keep the disk free
		b.StartTimer()
	}
	f, g := median(folio), median(git)
	b.ReportMetric(f.Seconds(), "folio-s")
	b.ReportMetric(g.Seconds(), "git-s")
	b.ReportMetric(f.Seconds()/g.Seconds(), "folio/git")
	b.ReportMetric(median(folioCPU).Seconds(), "folio-cpu-s")
	b.ReportMetric(median(gitCPU).Seconds(), "git-cpu-s")
	b.ReportMetric(float64(slices.Max(rss))/1024, "folio-import-maxrss-MiB")
	b.ReportMetric(float64(slices.Max(gitRSS))/1024, "git-add-maxrss-MiB")
}

// phase describes one process of an import for the log.
func phase(r procRun) string {
	return fmt.Sprintf("%v (cpu %v, maxrss %d MiB)", rnd(r.wall), rnd(r.cpu), r.maxRSSKiB>>10)
}

// BenchmarkRepoSize: the allocated size of .folio after import and commit
// against .git after git gc (and before it, for scale). Target: folio no
// larger than packed git.
func BenchmarkRepoSize(b *testing.B) {
	skipUnlessBench(b)
	c := sharedCorpus(b)
	var folioSize, gitLoose, gitPacked int64
	var gc []time.Duration
	for i := range b.N {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), strconv.Itoa(i))
		r, err := importBoth(c, dir, i%2 == 0)
		if err != nil {
			b.Fatal(err)
		}
		folioSize = mustDiskUsage(b, filepath.Join(r.folio, repo.DirName))
		gitLoose = mustDiskUsage(b, r.gitDir)
		b.StartTimer()
		run, err := runProc(benchGit(r.gitDir, c.dir, "gc", "-q"))
		if err != nil {
			b.Fatal(err)
		}
		gc = append(gc, run.wall)
		gitPacked = mustDiskUsage(b, r.gitDir)
		b.Logf("corpus %d MiB: .folio %d KiB, .git %d KiB loose, %d KiB after gc (%v)",
			c.bytes>>20, folioSize>>10, gitLoose>>10, gitPacked>>10, rnd(run.wall))
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(folioSize)/(1<<20), "folio-MiB")
	b.ReportMetric(float64(gitPacked)/(1<<20), "git-packed-MiB")
	b.ReportMetric(float64(gitLoose)/(1<<20), "git-loose-MiB")
	b.ReportMetric(float64(folioSize)/float64(gitPacked), "folio/git-packed")
	b.ReportMetric(median(gc).Seconds(), "git-gc-s")
}

func mustDiskUsage(b *testing.B, dir string) int64 {
	b.Helper()
	n, err := repo.DiskUsage(dir)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// --- one-document change ---

// BenchmarkOneDocChange: change one document of the imported corpus and
// commit it: folio put + commit against git add + commit. Besides the
// times, it reports the bytes of new objects each tool wrote for the
// index and the commit, i.e. besides the document itself: for folio the
// growth of `folio stats` bytes minus the document's size, for git the
// new loose objects other than the blob, compressed as stored (git-new-B)
// and uncompressed (git-new-raw-B). Target: folio at most 24 KiB.
func BenchmarkOneDocChange(b *testing.B) {
	skipUnlessBench(b)
	r := sharedRepos(b)
	c := r.corpus
	var folioTimes, gitTimes []time.Duration
	var steps [4][]time.Duration // folio put, folio commit, git add, git commit
	var folioNew, gitNew, gitNewRaw []int64

	// Documents spread over the key space, each changed to a new version
	// at every run; restored at the end so the corpus stays as generated.
	changed := map[int]bool{}
	b.Cleanup(func() {
		for i := range changed {
			os.WriteFile(filepath.Join(c.dir, c.names[i]), benchDocument(benchSeed, i, 1), 0o644)
		}
	})
	before, err := folioStats(r.folio)
	if err != nil {
		b.Fatal(err)
	}
	version := 1
	b.ResetTimer()
	for range b.N {
		for run := range changeRuns {
			b.StopTimer()
			version++
			doc := (run*7919 + version*104729) % len(c.names)
			changed[doc] = true
			data := benchDocument(benchSeed, doc, version)
			path := filepath.Join(c.dir, c.names[doc])
			if err := os.WriteFile(path, data, 0o644); err != nil {
				b.Fatal(err)
			}
			loose, err := looseObjects(r.gitDir)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()

			folioFirst := run%2 == 0
			var ft, gt procRun
			for _, tool := range []bool{folioFirst, !folioFirst} {
				var runs []procRun
				if tool {
					runs, ft, err = runSeq(
						benchFolio(r.folio, "put", c.names[doc], path),
						benchFolio(r.folio, "commit", "-m", "x"))
				} else {
					runs, gt, err = runSeq(
						benchGit(r.gitDir, c.dir, "add", c.names[doc]),
						benchGit(r.gitDir, c.dir, "commit", "-q", "-m", "x"))
				}
				if err != nil {
					b.Fatal(err)
				}
				for k, run := range runs {
					if !tool {
						k += 2
					}
					steps[k] = append(steps[k], run.wall)
				}
			}
			folioTimes, gitTimes = append(folioTimes, ft.wall), append(gitTimes, gt.wall)

			b.StopTimer()
			after, err := folioStats(r.folio)
			if err != nil {
				b.Fatal(err)
			}
			folioNew = append(folioNew, after.Bytes-before.Bytes-int64(len(data)))
			if run == 0 {
				b.Logf("folio new objects by type: %v", after.typeGrowth(before))
			}
			before = after
			disk, raw, err := newGitObjects(r, loose, c.names[doc])
			if err != nil {
				b.Fatal(err)
			}
			gitNew, gitNewRaw = append(gitNew, disk), append(gitNewRaw, raw)
			b.StartTimer()
		}
	}
	b.Logf("medians: folio put %v + commit %v, git add %v + commit %v",
		rnd(median(steps[0])), rnd(median(steps[1])), rnd(median(steps[2])), rnd(median(steps[3])))
	b.ReportMetric(ms(median(folioTimes)), "folio-ms")
	b.ReportMetric(ms(median(gitTimes)), "git-ms")
	b.ReportMetric(float64(median(folioNew)), "folio-new-B")
	b.ReportMetric(float64(median(gitNew)), "git-new-B")
	b.ReportMetric(float64(median(gitNewRaw)), "git-new-raw-B")
}

type statsJSON struct {
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
	ByType  map[string]struct {
		Count int   `json:"count"`
		Bytes int64 `json:"bytes"`
	} `json:"by_type"`
}

func folioStats(dir string) (*statsJSON, error) {
	run, err := runProc(benchFolio(dir, "stats", "--json"))
	if err != nil {
		return nil, err
	}
	var s statsJSON
	if err := json.Unmarshal(run.stdout, &s); err != nil {
		return nil, fmt.Errorf("folio stats --json: %w\n%s", err, run.stdout)
	}
	return &s, nil
}

// typeGrowth says how many objects and bytes of each type are new since
// before, e.g. "blob +1 (1123 B), node +3 (9876 B)".
func (s *statsJSON) typeGrowth(before *statsJSON) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(s.ByType)) {
		now, was := s.ByType[name], before.ByType[name]
		if now.Count != was.Count || now.Bytes != was.Bytes {
			parts = append(parts, fmt.Sprintf("%s %+d (%+d B)", name, now.Count-was.Count, now.Bytes-was.Bytes))
		}
	}
	return strings.Join(parts, ", ")
}

// looseObjects lists the loose object files of a git repository and their
// sizes on disk, by object ID.
func looseObjects(gitDir string) (map[string]int64, error) {
	objs := map[string]int64{}
	root := filepath.Join(gitDir, "objects")
	dirs, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if len(d.Name()) != 2 || !d.IsDir() {
			continue // pack, info
		}
		files, err := os.ReadDir(filepath.Join(root, d.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			info, err := f.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // gone between the listing and the stat
			}
			if err != nil {
				return nil, err
			}
			objs[d.Name()+f.Name()] = info.Size()
		}
	}
	return objs, nil
}

// newGitObjects sums the loose objects written since before, except the
// blob of the changed document: their size on disk (zlib-compressed) and
// their uncompressed size.
func newGitObjects(r *benchRepos, before map[string]int64, name string) (disk, raw int64, err error) {
	after, err := looseObjects(r.gitDir)
	if err != nil {
		return 0, 0, err
	}
	run, err := runProc(benchGit(r.gitDir, r.corpus.dir, "rev-parse", "HEAD:"+name))
	if err != nil {
		return 0, 0, err
	}
	blob := strings.TrimSpace(string(run.stdout))
	var ids []string
	for id, size := range after {
		if _, old := before[id]; !old && id != blob {
			ids = append(ids, id)
			disk += size
		}
	}
	check := benchGit(r.gitDir, r.corpus.dir, "cat-file", "--batch-check=%(objectsize)")
	check.Stdin = strings.NewReader(strings.Join(ids, "\n") + "\n")
	if run, err = runProc(check); err != nil {
		return 0, 0, err
	}
	for _, f := range strings.Fields(string(run.stdout)) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("git cat-file: %q", run.stdout)
		}
		raw += n
	}
	return disk, raw, nil
}

// --- start-up and reads, each paired with git's nearest command ---

// pairProbe is one side of a paired comparison: a command to start, as a
// function so every run gets a fresh process.
type pairProbe struct {
	cmd         func() *exec.Cmd
	wall, cpu   []time.Duration
	faults      []int64
	firstOutput []byte
}

// benchPair runs folio's and git's command runs times each,
// interleaved and taking turns to go first, after one warm-up run of each
// whose outputs must be equal when sameOutput is set. It reports the
// median wall and CPU (user + system) time of each and their ratios: CPU
// time is the steadier figure on a shared machine, wall time what a user
// waits. The median minor page faults of each say how much memory a run
// touched, which decides start-up where a fault costs ~30 us.
func benchPair(b *testing.B, runs int, sameOutput bool, folio, git func() *exec.Cmd) {
	b.Helper()
	probes := []*pairProbe{{cmd: folio}, {cmd: git}}
	b.ResetTimer()
	for range b.N {
		for _, p := range probes {
			r, err := runProc(p.cmd())
			if err != nil {
				b.Fatal(err)
			}
			p.firstOutput = r.stdout
		}
		if sameOutput && !bytes.Equal(probes[0].firstOutput, probes[1].firstOutput) {
			b.Fatalf("folio and git print different bytes:\n%.2000s\n---\n%.2000s", probes[0].firstOutput, probes[1].firstOutput)
		}
		for run := range runs {
			for k := range probes {
				p := probes[(run+k)%len(probes)]
				r, err := runProc(p.cmd())
				if err != nil {
					b.Fatal(err)
				}
				p.wall, p.cpu, p.faults = append(p.wall, r.wall), append(p.cpu, r.cpu), append(p.faults, r.minFaults)
			}
		}
	}
	f, g := probes[0], probes[1]
	b.ReportMetric(ms(median(f.wall)), "folio-ms")
	b.ReportMetric(ms(median(g.wall)), "git-ms")
	b.ReportMetric(ms(median(f.cpu)), "folio-cpu-ms")
	b.ReportMetric(ms(median(g.cpu)), "git-cpu-ms")
	b.ReportMetric(float64(median(f.faults)), "folio-faults")
	b.ReportMetric(float64(median(g.faults)), "git-faults")
	b.ReportMetric(median(f.wall).Seconds()/median(g.wall).Seconds(), "folio/git")
	b.ReportMetric(median(f.cpu).Seconds()/median(g.cpu).Seconds(), "folio/git-cpu")
}

// BenchmarkVersionVsGit: `folio version` against `git --version`, which is
// nearly all process start. Target: folio/git <= 1.5.
func BenchmarkVersionVsGit(b *testing.B) {
	skipUnlessBench(b)
	dir := b.TempDir()
	benchPair(b, startRuns, false,
		func() *exec.Cmd { return benchFolio(dir, "version") },
		func() *exec.Cmd { return benchGit(filepath.Join(dir, ".git"), dir, "--version") })
}

// BenchmarkMergeFileVsGit: a clean three-way merge of three five-line
// files printed to stdout, as a merge driver runs once per file: folio
// merge-file against git merge-file, whose outputs must be the same.
// Target: folio/git <= 1.5.
func BenchmarkMergeFileVsGit(b *testing.B) {
	skipUnlessBench(b)
	dir := b.TempDir()
	for name, text := range map[string]string{
		"base": "a\nb\nc\nd\ne\n", "ours": "A\nb\nc\nd\ne\n", "theirs": "a\nb\nc\nd\nE\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	args := []string{"merge-file", "-p", "ours", "base", "theirs"}
	benchPair(b, startRuns, true,
		func() *exec.Cmd { return benchFolio(dir, args...) },
		func() *exec.Cmd { return benchGit(filepath.Join(dir, ".git"), dir, args...) })
}

// benchDocKey is a document of the imported corpus away from either end.
func benchDocKey(c *benchCorpus) string { return c.names[len(c.names)/2] }

// BenchmarkGetVsShow: print one document of the imported corpus, folio get
// against git show HEAD:path. Target: folio <= 8 ms.
func BenchmarkGetVsShow(b *testing.B) {
	skipUnlessBench(b)
	r := sharedRepos(b)
	key := benchDocKey(r.corpus)
	benchPair(b, readRuns, true,
		func() *exec.Cmd { return benchFolio(r.folio, "get", key) },
		func() *exec.Cmd { return benchGit(r.gitDir, r.corpus.dir, "show", "HEAD:"+key) })
}

// BenchmarkLogVsGit: the last commit, folio log -n 1 against git log -1.
// Target: folio/git <= 1.5.
func BenchmarkLogVsGit(b *testing.B) {
	skipUnlessBench(b)
	r := sharedRepos(b)
	benchPair(b, readRuns, false,
		func() *exec.Cmd { return benchFolio(r.folio, "log", "-n", "1") },
		func() *exec.Cmd { return benchGit(r.gitDir, r.corpus.dir, "log", "-1") })
}

// BenchmarkStatusVsGit: folio status against git status on the imported
// corpus with nothing changed. Target: folio/git <= 1.5.
func BenchmarkStatusVsGit(b *testing.B) {
	skipUnlessBench(b)
	r := sharedRepos(b)
	benchPair(b, readRuns, false,
		func() *exec.Cmd { return benchFolio(r.folio, "status") },
		func() *exec.Cmd { return benchGit(r.gitDir, r.corpus.dir, "status") })
}

// BenchmarkLsVsLsTree: every key of the corpus, folio ls against git
// ls-tree --name-only HEAD, which must print the same lines. Target:
// folio/git <= 1.
func BenchmarkLsVsLsTree(b *testing.B) {
	skipUnlessBench(b)
	r := sharedRepos(b)
	benchPair(b, readRuns, true,
		func() *exec.Cmd { return benchFolio(r.folio, "ls") },
		func() *exec.Cmd { return benchGit(r.gitDir, r.corpus.dir, "ls-tree", "--name-only", "HEAD") })
}

// --- small helpers ---

func median[T int64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func rnd(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
