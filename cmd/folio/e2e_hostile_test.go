package main

// Hostile tests of the served CLI: a serve.json that lies (copied from
// another repository, left by a dead server, naming another machine) and
// one planted before folio serve writes it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/folio-db/folio/objects/repo"
)

// newRepoDir makes a repository with one commit and returns its folder.
func (e *e2e) newRepoDir(name string) string {
	e.t.Helper()
	dir := filepath.Join(e.t.TempDir(), name)
	e.must(filepath.Dir(dir), "init", name)
	if err := os.WriteFile(filepath.Join(dir, "base.txt"), []byte("base\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.must(dir, "put", "base.txt", "base.txt")
	e.must(dir, "commit", "-m", "base")
	return dir
}

// holdLock opens the repository in dir in this process, as a long command
// would, so that folio processes find it locked.
func holdLock(t *testing.T, dir string) {
	t.Helper()
	r, err := repo.Open(context.Background(), filepath.Join(dir, repo.DirName), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
}

func writeServed(t *testing.T, dir string, info servedInfo) {
	t.Helper()
	data, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, repo.DirName, servedFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A serve.json that names a server of another repository (copied with the
// folder, or left by a server that died while another took its port) must
// not make the CLI write this repository's changes into that one.
func TestServedJSONOfAnotherRepository(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	other := e.newRepoDir("other")
	srv := e.serve(other)
	info, err := readServed(other)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		info servedInfo
	}{
		{"copied", *info},
		{"dead server", servedInfo{PID: 999999, URL: srv.url, Dir: ""}},
	} {
		here := e.newRepoDir("here-" + strings.ReplaceAll(tc.name, " ", "-"))
		if tc.info.Dir == "" {
			tc.info.Dir = filepath.Join(here, repo.DirName) // names this folder, but its server died
		}
		if err := os.WriteFile(filepath.Join(here, "secret.txt"), []byte("secret\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		holdLock(t, here)
		writeServed(t, here, tc.info)
		res := e.run(here, "put", "secret.txt", "secret.txt")
		if res.code == 0 {
			t.Errorf("%s: put went through a server of another repository:\n%v", tc.name, res)
		}
		if status := e.must(other, "status"); strings.Contains(status, "secret.txt") {
			t.Errorf("%s: the other repository got this one's document:\n%s", tc.name, status)
		}
	}
}

// A serve.json naming another machine (or a URL with credentials) sends
// nothing there: the admin token and the repository's data stay here. The
// other machine is reached through a proxy that records what arrives.
func TestServedJSONForeignHost(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	var reached atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		http.Error(w, "recorded", http.StatusBadGateway)
	}))
	defer proxy.Close()
	here := e.newRepoDir("here")
	holdLock(t, here)
	for _, url := range []string{
		"http://192.0.2.7:7420/",
		"https://192.0.2.7:7420/",
		"http://localhost.example:7420/",
		"http://user:pass@127.0.0.1:9/",
	} {
		writeServed(t, here, servedInfo{PID: os.Getpid(), URL: url, Token: "folio_admin", Dir: filepath.Join(here, repo.DirName)})
		env := []string{"HTTP_PROXY=" + proxy.URL, "HTTPS_PROXY=" + proxy.URL, "NO_PROXY="}
		res := e.runEnv(here, env, "get", "base.txt")
		if res.code == 0 || !strings.Contains(res.stderr, "serve.json") {
			t.Errorf("serve.json naming %s: want a refusal that names serve.json:\n%v", url, res)
		}
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("%d requests left this machine for the server a forged serve.json names", n)
	}
}

// folio serve writes its serve.json (which holds the admin token) owner
// only, as a new file: not through a symlink planted in its place, and not
// keeping the mode of a file left there.
func TestServeJSONWrittenSafely(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	authFile := filepath.Join(t.TempDir(), "auth.json")
	e.must(t.TempDir(), "serve", "token", "add", "ci", "--auth", authFile)

	planted := e.newRepoDir("planted")
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(planted, repo.DirName, servedFile)); err != nil {
		t.Fatal(err)
	}
	open := e.newRepoDir("open")
	if err := os.WriteFile(filepath.Join(open, repo.DirName, servedFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{planted, open} {
		srv := e.serve(dir, "--auth", authFile)
		path := filepath.Join(dir, repo.DirName, servedFile)
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: serve.json is %s, want a regular file of mode 0600", dir, fi.Mode())
		}
		if srv.token == "" {
			t.Errorf("%s: serve.json holds no token", dir)
		}
		e.must(dir, "log", "-n", "1") // through the server, with the token
		srv.stop(t)
		if strings.Contains(srv.logs.String(), srv.token) {
			t.Errorf("%s: the server logged its admin token:\n%s", dir, srv.tail())
		}
		if data, err := os.ReadFile(authFile); err != nil || strings.Contains(string(data), "local-admin") {
			t.Errorf("the auth file holds an admin token (%v):\n%s", err, data)
		}
	}
	if data, err := os.ReadFile(victim); err != nil || string(data) != "precious\n" {
		t.Errorf("the file a planted serve.json symlink named now holds %q, %v", data, err)
	}
}

// A server killed while a command works through it: the command fails at
// once with an error that says the server went away (no hang, no partial
// change), and the next command opens the repository itself, the dead
// server's serve.json notwithstanding.
func TestServedServerKilledMidCommand(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	dir := e.newRepoDir("killed")
	srv := e.serve(dir)
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	cmd := e.command(ctx, dir, nil, "put", "doc.txt")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// put opens the repository (through the server) before it reads its
	// input, so once it has taken more than a pipe holds, it is past the
	// open. (Killed when the server logs its first request, the answer
	// to that request could still be lost: put then found a dead server
	// and the repository locked until the kernel let go of it.)
	if _, err := stdin.Write(bytes.Repeat([]byte("written while the server dies\n"), 1<<15)); err != nil {
		t.Fatalf("put stopped reading its input: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(srv.logs.String(), "path=/v1/store/") {
		t.Fatalf("put read its input without opening the repository through the server\n%s", srv.tail())
	}
	srv.cmd.Process.Kill()
	<-srv.ended
	stdin.Close()
	err = cmd.Wait()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("put through a killed server: %v (context %v)\n%s", err, ctx.Err(), stderr.String())
	}
	if msg := stderr.String(); !strings.Contains(msg, "folio serve process at") || !strings.Contains(msg, "did not answer") ||
		!strings.Contains(msg, "refused") || strings.Contains(msg, "/v1/store/") {
		t.Errorf("put through a killed server says (want the server named, plainly, without the request):\n%s", msg)
	}
	if status := e.must(dir, "status"); strings.Contains(status, "doc.txt") {
		t.Errorf("the failed put staged doc.txt:\n%s", status)
	}
	e.fsckClean(dir, "after the server was killed")
}

// With --root, a repository the server has open is worked on through it
// (at /NAME/, with a token for it alone); one it has not opened, or has
// closed when idle, is opened directly.
func TestServedRoot(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	a := e.newRepoDir("a")
	root := filepath.Dir(a)
	authFile := filepath.Join(t.TempDir(), "auth.json")
	writer := strings.TrimSpace(e.must(root, "serve", "token", "add", "ci", "--scope", "read-write", "--auth", authFile))
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := e.command(ctx, root, nil, "serve", "--root", root, "--addr", "127.0.0.1:0", "--auth", authFile, "--gc-every", "0")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	var base string
	for base == "" {
		if _, after, ok := strings.Cut(logs.String(), "serving on "); ok {
			base, _, _ = strings.Cut(after, "\n")
		}
		select {
		case <-ctx.Done():
			t.Fatal("no server")
		case <-time.After(10 * time.Millisecond):
		}
	}
	// Before the server opens a, the CLI opens it itself.
	e.must(a, "log", "-n", "1")
	// A request opens it in the server: from then on the CLI goes through.
	if _, err := refsOf(base+"a/", writer); err != nil {
		t.Fatal(err)
	}
	info, err := readServed(a)
	if err != nil || info.URL != base+"a/" || info.Token == "" {
		t.Fatalf("serve.json of a: %+v, %v; want %sa/ and a token", info, err, base)
	}
	if err := os.WriteFile(filepath.Join(a, "doc.txt"), []byte("through the root server\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.must(a, "put", "doc.txt", "doc.txt")
	e.must(a, "commit", "-m", "served by root")
	got, err := api(http.MethodGet, base+"a/", docPath("doc.txt"), nil, "Authorization: Bearer "+writer)
	if err != nil || got.status != http.StatusOK || string(got.body) != "through the root server\n" {
		t.Errorf("the root server's a has doc.txt: %+v, %v", got, err)
	}
	if !strings.Contains(logs.String(), "path=/a/v1/store/apply") {
		t.Errorf("the commit did not go through the server:\n%s", logs.String())
	}
	cancel()
}

// A --root server that closed an idle repository, which another folio
// serve then took and let go, writes its serve.json again when it opens it
// again; and one that stops while another server holds the repository
// leaves that server's serve.json: the served CLI always finds the server
// that holds the repository.
func TestServedRootAndAnotherServer(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	a := e.newRepoDir("a")
	root := filepath.Dir(a)
	logs := &syncBuffer{}
	cmd := e.command(context.Background(), root, nil, "serve", "--root", root, "--addr", "127.0.0.1:0",
		"--idle-close", "100ms", "--gc-every", "0")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var base string
	for base == "" {
		if _, after, ok := strings.Cut(logs.String(), "serving on "); ok {
			base, _, _ = strings.Cut(after, "\n")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// open has the root server open a, waits until it has closed it (idle),
	// and has another server take it.
	openIdleTake := func() *folioServer {
		t.Helper()
		if _, err := refsOf(base+"a/", ""); err != nil {
			t.Fatal(err)
		}
		if info, err := readServed(a); err != nil || info.PID != cmd.Process.Pid {
			t.Fatalf("a's serve.json with the root server holding it: %+v, %v", info, err)
		}
		deadline := time.Now().Add(processTimeout)
		for {
			r, err := repo.Open(context.Background(), filepath.Join(a, repo.DirName), repo.Options{})
			if err == nil {
				r.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the root server never closed a: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return e.serve(a)
	}
	openIdleTake().stop(t)
	other := openIdleTake()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the root server: %v\n%s", err, logs.String())
	}
	info, err := readServed(a)
	if err != nil || info.PID != other.cmd.Process.Pid {
		t.Fatalf("a's serve.json after the root server stopped: %+v, %v; want the one of pid %d", info, err, other.cmd.Process.Pid)
	}
	e.must(a, "log", "-n", "1") // through the server that holds it
	other.stop(t)
}

// A server that holds the repository but answers nothing (stopped with
// SIGSTOP, or in a debugger): a command fails within servedAnswerWait,
// naming the server, instead of waiting a request's full timeout and then
// blaming "another process". Resumed, the server serves the command.
func TestServedServerStoppedAnswersNothing(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	dir := e.newRepoDir("stopped")
	srv := e.serve(dir)
	if err := srv.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	pid := srv.cmd.Process.Pid
	// get opens the repository through the server; sync asks the server
	// to run it (a request that may take half an hour to answer). Both at
	// once: each waits servedAnswerWait.
	var wg sync.WaitGroup
	for _, args := range [][]string{{"get", "base.txt"}, {"sync"}} {
		wg.Go(func() {
			start := time.Now()
			res := e.run(dir, args...)
			took := time.Since(start)
			if res.code != 1 || !strings.Contains(res.stderr, fmt.Sprintf("folio serve (pid %d)", pid)) ||
				!strings.Contains(res.stderr, "did not answer") || !strings.Contains(res.stderr, srv.url) {
				t.Errorf("%s in a repository whose server is stopped (want exit 1 naming the server, pid %d, and its URL):\n%v", args[0], pid, res)
			}
			// Bounded by the answer wait, not by a request's timeout: a
			// generous bound, as the machine may be busy.
			if took > servedAnswerWait+30*time.Second {
				t.Errorf("%s took %v to give up on a stopped server", args[0], took)
			}
		})
	}
	wg.Wait()
	if err := srv.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if out := e.must(dir, "get", "base.txt"); out != "base\n" {
		t.Errorf("get through the resumed server printed %q", out)
	}
}
