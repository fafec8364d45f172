package main

// Real folio processes and servers for the end-to-end tests of replication
// (e2e_converge_test.go, e2e_faults_test.go): the test binary runs as the
// folio command (see runAsFolio), servers are 'folio serve' processes on
// 127.0.0.1, and applications write through the document API over HTTP.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// testSeed is FOLIO_SEED if set, else a new seed; a failing test prints it.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := strings.TrimSpace(os.Getenv("FOLIO_SEED")); v != "" {
		if _, err := fmt.Sscan(v, &seed); err != nil {
			t.Fatalf("FOLIO_SEED=%q: %v", v, err)
		}
	}
	t.Logf("seed %d", seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay the random choices with FOLIO_SEED=%d", seed)
		}
	})
	return seed
}

// processTimeout bounds any one folio process, so a hang fails the test
// with the process's output instead of stalling until go test's timeout.
const processTimeout = 2 * time.Minute

// e2e is the environment shared by the folio processes of one test: a
// private global config and credentials file, and no token or repository
// inherited from the caller's environment.
type e2e struct {
	t   *testing.T
	env []string
}

func newE2E(t *testing.T) *e2e {
	home := t.TempDir()
	return &e2e{t: t, env: append(os.Environ(), runAsFolio+"=1",
		"FOLIO_AUTHOR_NAME=E2E Test", "FOLIO_AUTHOR_EMAIL=e2e@example.com",
		"FOLIO_CONFIG_GLOBAL="+filepath.Join(home, "global.json"),
		"FOLIO_CREDENTIALS="+filepath.Join(home, "credentials.json"),
		"FOLIO_TOKEN=", "FOLIO_DIR=", "FOLIO_AUTHOR_DATE=",
		// A served repository is locked by its server: commands that can
		// go through the server (sync) should not wait for the lock first.
		"FOLIO_LOCK_WAIT=0s",
	)}
}

// result is how a folio process ended.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("folio %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// command prepares a folio process working in dir; env entries override
// the test's environment.
func (e *e2e) command(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string{}, e.env...), env...)
	return cmd
}

// runEnv runs folio to completion. It never fails the test, so goroutines
// may call it; a process that could not start or was killed has code -1.
func (e *e2e) runEnv(dir string, env []string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := e.command(ctx, dir, env, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		res.code = exit.ExitCode()
	default:
		res.code = -1
		res.stderr += fmt.Sprintf("\n(test: %v)", err)
	}
	return res
}

func (e *e2e) run(dir string, args ...string) result { return e.runEnv(dir, nil, args...) }

// must runs folio and fails the test unless it exits 0; it returns stdout.
func (e *e2e) must(dir string, args ...string) string {
	e.t.Helper()
	res := e.run(dir, args...)
	if res.code != 0 {
		e.t.Fatalf("%v", res)
	}
	return res.stdout
}

// fsckClean runs folio fsck on the repository in dir, which no server may
// hold, and fails the test unless it finds nothing wrong.
func (e *e2e) fsckClean(dir, what string) {
	e.t.Helper()
	if res := e.run(dir, "fsck"); res.code != 0 || !strings.Contains(res.stdout, ": 0 problems") {
		e.t.Fatalf("%s: fsck is not clean:\n%v", what, res)
	}
}

// folioServer is a running 'folio serve' process.
type folioServer struct {
	dir   string // the worktree it serves
	url   string // from serve.json: http://127.0.0.1:PORT/
	token string // the local-admin token, with --auth
	cmd   *exec.Cmd
	logs  *syncBuffer
	ended chan struct{} // closed when the process has exited
	err   error         // its exit status, once ended is closed
}

// syncBuffer is a buffer written by a process while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail is the end of a server's log, for failure messages.
func (s *folioServer) tail() string {
	logs := s.logs.String()
	if len(logs) > 4000 {
		logs = "..." + logs[len(logs)-4000:]
	}
	return logs
}

// serve starts 'folio serve' on a free port of 127.0.0.1 for the
// repository in dir and waits until its serve.json names it. The server is
// killed when the test ends if stop has not stopped it.
func (e *e2e) serve(dir string, args ...string) *folioServer {
	e.t.Helper()
	s := &folioServer{dir: dir, logs: &syncBuffer{}, ended: make(chan struct{})}
	s.cmd = e.command(context.Background(), dir, nil, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.ended)
	}()
	e.t.Cleanup(func() {
		select {
		case <-s.ended:
		default:
			s.cmd.Process.Kill()
			<-s.ended
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := readServed(dir)
		if err == nil && info.PID == s.cmd.Process.Pid {
			s.url, s.token = info.URL, info.Token
			return s
		}
		select {
		case <-s.ended:
			e.t.Fatalf("folio serve in %s exited: %v\n%s", dir, s.err, s.tail())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("folio serve in %s wrote no serve.json in 30s\n%s", dir, s.tail())
		}
	}
}

func readServed(dir string) (*servedInfo, error) {
	data, err := os.ReadFile(filepath.Join(dir, repo.DirName, servedFile))
	if err != nil {
		return nil, err
	}
	var info servedInfo
	return &info, json.Unmarshal(data, &info)
}

// stop sends SIGTERM and checks that the server stops cleanly: exit status
// 0 and its serve.json removed.
func (s *folioServer) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stop folio serve in %s: %v", s.dir, err)
	}
	select {
	case <-s.ended:
	case <-time.After(processTimeout):
		t.Fatalf("folio serve in %s did not stop on SIGTERM\n%s", s.dir, s.tail())
	}
	if s.err != nil {
		t.Fatalf("folio serve in %s stopped with %v\n%s", s.dir, s.err, s.tail())
	}
	if _, err := readServed(s.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("folio serve in %s left its serve.json behind (%v)", s.dir, err)
	}
}

// apiClient is how the tests talk HTTP to servers, as applications do.
var apiClient = &http.Client{Timeout: time.Minute}

// apiResponse is a document API reply, read whole.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// api sends one request to base+path with the given headers ("Name: value").
func api(method, base, path string, body []byte, headers ...string) (*apiResponse, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the reply: %w", method, path, err)
	}
	return &apiResponse{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// docPath is the document API path of a key.
func docPath(key string) string { return "v1/docs/" + (&url.URL{Path: key}).EscapedPath() }

// writeReply is the body of a successful document write.
type writeReply struct {
	Commit objects.ID `json:"commit"`
}

// writeDoc puts (content != nil) or deletes a document: one commit. It
// returns the status, and the commit when the write succeeded.
func writeDoc(base, key string, content []byte, headers ...string) (int, objects.ID, error) {
	method := http.MethodPut
	if content == nil {
		method = http.MethodDelete
	}
	resp, err := api(method, base, docPath(key), content, headers...)
	if err != nil {
		return 0, objects.ID{}, err
	}
	if resp.status/100 != 2 {
		return resp.status, objects.ID{}, nil
	}
	var reply writeReply
	if err := json.Unmarshal(resp.body, &reply); err != nil || reply.Commit.IsZero() {
		return resp.status, objects.ID{}, fmt.Errorf("%s %s: reply %q: %v", method, key, resp.body, err)
	}
	return resp.status, reply.Commit, nil
}

// readDoc reads a document: its content and ETag, or found=false.
func readDoc(base, key string) (content []byte, etag string, found bool, err error) {
	resp, err := api(http.MethodGet, base, docPath(key), nil)
	switch {
	case err != nil:
		return nil, "", false, err
	case resp.status == http.StatusNotFound:
		return nil, "", false, nil
	case resp.status != http.StatusOK:
		return nil, "", false, fmt.Errorf("GET %s: %d %s", key, resp.status, resp.body)
	}
	return resp.body, resp.header.Get("ETag"), true, nil
}

// listedDoc is one entry of a document listing.
type listedDoc struct {
	Key  string     `json:"key"`
	ID   objects.ID `json:"id"`
	Kind string     `json:"kind"`
	Size uint64     `json:"size"`
}

// listDocs lists every document of the served branch, page by page.
func listDocs(base string) ([]listedDoc, error) {
	var all []listedDoc
	after := ""
	for {
		resp, err := api(http.MethodGet, base, "v1/docs?limit=100&after="+url.QueryEscape(after), nil)
		if err != nil {
			return nil, err
		}
		if resp.status != http.StatusOK {
			return nil, fmt.Errorf("list documents: %d %s", resp.status, resp.body)
		}
		var page struct {
			Docs []listedDoc `json:"docs"`
			Next string      `json:"next"`
		}
		if err := json.Unmarshal(resp.body, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Docs...)
		if page.Next == "" {
			return all, nil
		}
		after = page.Next
	}
}

// refsOf lists a server's branches (GET v1/refs, with a token if given).
func refsOf(base, token string) (map[string]objects.ID, error) {
	var headers []string
	if token != "" {
		headers = append(headers, "Authorization: Bearer "+token)
	}
	resp, err := api(http.MethodGet, base, "v1/refs", nil, headers...)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, fmt.Errorf("GET v1/refs: %d %s", resp.status, resp.body)
	}
	var listing struct {
		Refs []objects.Ref `json:"refs"`
	}
	if err := json.Unmarshal(resp.body, &listing); err != nil {
		return nil, err
	}
	out := map[string]objects.ID{}
	for _, r := range listing.Refs {
		out[r.Name] = r.ID
	}
	return out, nil
}

// mainHead is the head of a server's main branch.
func mainHead(t *testing.T, s *folioServer) objects.ID {
	t.Helper()
	refs, err := refsOf(s.url, s.token)
	if err != nil {
		t.Fatalf("%s: %v", s.dir, err)
	}
	return refs[objects.BranchPrefix+"main"]
}

// localRefs reads the refs of a repository no process holds.
func localRefs(t *testing.T, dir string) map[string]objects.ID {
	t.Helper()
	out := map[string]objects.ID{}
	withLocalRepo(t, dir, func(r *repo.Repo) {
		refs, err := r.Store().Refs(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range refs {
			out[ref.Name] = ref.ID
		}
	})
	return out
}

// reachable returns the commits reachable from a branch of a repository
// no process holds.
func reachable(t *testing.T, dir, branch string) map[objects.ID]bool {
	t.Helper()
	seen := map[objects.ID]bool{}
	withLocalRepo(t, dir, func(r *repo.Repo) {
		ctx := context.Background()
		head, err := r.Store().Ref(ctx, objects.BranchPrefix+branch)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		err = r.Walk(ctx, []objects.ID{head}, func(id objects.ID, c *objects.Commit) error {
			seen[id] = true
			return nil
		})
		if err != nil {
			t.Fatalf("%s: walking history: %v", dir, err)
		}
	})
	return seen
}

func withLocalRepo(t *testing.T, dir string, fn func(*repo.Repo)) {
	t.Helper()
	r, err := repo.Open(context.Background(), filepath.Join(dir, repo.DirName), repo.Options{ReadOnly: true, LockWait: 5 * time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	defer r.Close()
	fn(r)
}
