package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
)

// app holds what every command shares: the streams and the global flags.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	repoFlag string        // --repo
	jsonOut  bool          // --json
	timeout  time.Duration // --timeout of the commands that talk to remotes

	// opened, when a test sets it, is told the options of each open.
	opened func(repo.Options)
	// exits says that the process ends with the command (run sets it;
	// tests that run commands in their own process do not): see closeRepo.
	exits bool
}

// defaultLockWait is how long a command waits for another folio process to
// release the repository.
const defaultLockWait = 3 * time.Second

// servedAnswerWait is how long a command gives the folio serve process
// that holds the repository to answer its first request (or the lock
// wait, if longer). A server alive and holding the lock that says nothing
// in that time is stopped or wedged: the command names it and gives up,
// rather than wait out a request's timeout and then the lock.
const servedAnswerWait = 5 * time.Second

// repoDir finds the .folio folder a command works in.
func (a *app) repoDir() (string, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return repo.Find(a.repoFlag, cwd)
}

// openRepo finds and opens the repository; read-only opens share it with
// other readers.
func (a *app) openRepo(ctx context.Context, writable bool) (*repo.Repo, error) {
	return a.openRepoWith(ctx, repo.Options{ReadOnly: !writable})
}

// openRepoWith opens the repository with options. A repository that
// folio serve holds is opened on the server's store API, so the command
// works through the server; one that another command holds is waited for
// (FOLIO_LOCK_WAIT, default defaultLockWait).
func (a *app) openRepoWith(ctx context.Context, opts repo.Options) (*repo.Repo, error) {
	return a.open(ctx, opts, true)
}

// openOwn opens the repository's store itself (folio serve), never
// through a server.
func (a *app) openOwn(ctx context.Context, opts repo.Options) (*repo.Repo, error) {
	return a.open(ctx, opts, false)
}

func (a *app) open(ctx context.Context, opts repo.Options, throughServer bool) (*repo.Repo, error) {
	dir, err := a.repoDir()
	if err != nil {
		return nil, err
	}
	wait := defaultLockWait
	if v := os.Getenv("FOLIO_LOCK_WAIT"); v != "" {
		if wait, err = time.ParseDuration(v); err != nil {
			return nil, fmt.Errorf("FOLIO_LOCK_WAIT=%q: %w", v, err)
		}
	}
	if a.opened != nil {
		a.opened(opts)
	}
	r, err := repo.Open(ctx, dir, opts) // no wait: a server would not let go
	if err == nil {
		a.warnSetAside(r)
	}
	if !errors.Is(err, badgerstore.ErrLocked) {
		return r, err
	}
	if throughServer {
		if r, err := a.openServed(ctx, dir, opts, max(wait, servedAnswerWait)); !errors.Is(err, errNotServed) {
			return r, err
		}
	} else if info, serr := a.served(); serr == nil {
		return nil, fmt.Errorf("%w: 'folio serve' (pid %d) serves it at %s already", err, info.PID, info.URL)
	}
	opts.LockWait = wait
	return repo.Open(ctx, dir, opts)
}

// errNotServed: no live folio serve holds the repository.
var errNotServed = errors.New("not served")

// openServed opens the repository on the store of the folio serve process
// that serve.json names, if it answers within answerWait.
func (a *app) openServed(ctx context.Context, dir string, opts repo.Options, answerWait time.Duration) (*repo.Repo, error) {
	info, err := a.served()
	if errors.Is(err, errForeignServe) {
		return nil, err
	}
	if err != nil {
		return nil, errNotServed
	}
	c, err := info.client(a.timeout)
	if err != nil {
		return nil, err
	}
	store := client.NewStore(c)
	err = info.probe(ctx, answerWait, func(ctx context.Context) error {
		_, err := store.Ref(ctx, objects.BranchPrefix+repo.DefaultBranch)
		return err
	})
	if err != nil {
		return nil, err
	}
	opts.Store = store
	return repo.Open(ctx, dir, opts)
}

// probe makes a command's first request to the server, ask, giving it
// answerWait to answer. A server that refuses the command's token says so;
// one that answers nothing in that time is alive (it holds the lock) but
// stopped or wedged, and the error names it; any other failure is a server
// gone (errNotServed), whose lock the command may then wait for.
func (info *servedInfo) probe(ctx context.Context, answerWait time.Duration, ask func(context.Context) error) error {
	probe, cancel := context.WithTimeout(ctx, answerWait)
	defer cancel()
	err := ask(probe)
	switch {
	case err == nil || errors.Is(err, objects.ErrNotFound):
		return nil
	case client.IsAuthError(err):
		return fmt.Errorf("the folio serve process at %s refused this command: %w", info.URL, err)
	case errors.Is(probe.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		return fmt.Errorf("folio serve (pid %d) holds this repository but did not answer at %s within %v: "+
			"resume it if it is stopped, or stop it to work on the repository directly", info.PID, info.URL, answerWait)
	}
	return errNotServed // a serve.json left by a server that died
}

// openFiles finds the repository and opens its files only, which works
// even while another process holds its store.
func (a *app) openFiles() (*repo.Files, error) {
	dir, err := a.repoDir()
	if err != nil {
		return nil, err
	}
	return repo.OpenFiles(dir)
}

// withRepo opens the repository, runs fn and closes it, keeping the first
// error. A writable open is a short session (repo.Options.Short), which
// runs no compactors: one that started inside a fetch of one commit
// rewrote a level of the store (half a second of CPU, one fetch in five on
// 100,000 documents). A short session that turns out to write a lot
// settles on Close instead (badgerstore.Options.Short); only import, which
// always does, uses withRepoBulk.
func (a *app) withRepo(ctx context.Context, writable bool, fn func(*repo.Repo) error) (err error) {
	return a.withRepoOpts(ctx, repo.Options{ReadOnly: !writable, Short: writable}, fn)
}

// withRepoBulk is withRepo for a command that writes a lot (import): the
// store compacts in the background while it works.
func (a *app) withRepoBulk(ctx context.Context, fn func(*repo.Repo) error) (err error) {
	return a.withRepoOpts(ctx, repo.Options{}, fn)
}

// limitFirstImport runs a first import (nothing committed or staged on
// the branch: a new store, which it loads in bulk) under a heap limit of
// bulkMemoryLimit. Another import keeps the usual limit: it writes through
// Badger's memtables and compactions, whose live set exceeds that limit,
// and the collector would then run without pause (35% more CPU).
func limitFirstImport(ctx context.Context, r *repo.Repo, branch string) error {
	if os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	s, err := r.LoadStaged(ctx, branch)
	if err != nil {
		return err
	}
	if s.Head.IsZero() && !s.HasChanges() {
		debug.SetMemoryLimit(bulkMemoryLimit)
	}
	return nil
}

// bulkMemoryLimit is the soft heap limit of a first import. One of
// 100,000 documents of 1.2 KiB holds 50-60 MiB live at most (Badger's
// table builders, the edits); its peak RSS adds the pages of the tables
// it writes (~40 MB, mapped) and of the binary (~13 MB). With the usual
// memoryLimit and gcPercent the heap grew to three times its live set
// (peak RSS 160-180 MiB); with 96 MiB the peak was ~143 MiB, with 80 MiB
// ~128 MiB, with 72 MiB ~115 MiB, for ~15% more CPU than 96 MiB.
const bulkMemoryLimit = 72 << 20

// withRepoMerging is withRepo for the commands that merge (merge, pull,
// sync, cherry-pick, revert): a larger block cache, since a merge of many
// changed documents reads each node it needs more than once, and the
// command's small default would decompress them again.
func (a *app) withRepoMerging(ctx context.Context, fn func(*repo.Repo) error) (err error) {
	return a.withRepoOpts(ctx, repo.Options{CacheBytes: mergingCacheBytes, Short: true}, fn)
}

const mergingCacheBytes = 128 << 20

// withRepoOpts is withRepo with options.
func (a *app) withRepoOpts(ctx context.Context, opts repo.Options, fn func(*repo.Repo) error) (err error) {
	if opts.CacheBytes > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit + opts.CacheBytes) // the cache lives on the heap
	}
	r, err := a.openRepoWith(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := a.closeRepo(r); err == nil {
			err = cerr
		}
	}()
	return fn(r)
}

// closeRepo closes r, with the garbage collector off when the process
// exits next. Closing a writable store flushes its memtable, and Badger's
// table builder allocates ~7 MiB for that however little it holds (its
// buffers, the index builder): in a one-document put or commit, enough to
// start a collection (one of ~5 ms of CPU) just before the process exits.
// The memory limit still bounds the heap.
func (a *app) closeRepo(r *repo.Repo) error {
	if a.exits {
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
	}
	return r.Close()
}

// withRepoWritableLater is withRepo for a command that writes only if it
// finds something to write (fetch): it opens the repository read-only,
// and reopens it writable, as a short session, when the command asks
// (laterRepo.writable). A writable open and close of a Badger store cost
// more than the rest of a fetch that finds nothing new. What the command
// read before it asked, it must read again after: another process may
// write in between.
func (a *app) withRepoWritableLater(ctx context.Context, fn func(*laterRepo) error) (err error) {
	r, err := a.openRepo(ctx, false)
	if err != nil {
		return err
	}
	lr := &laterRepo{a: a, r: r}
	defer func() {
		if lr.r == nil {
			return
		}
		if cerr := a.closeRepo(lr.r); err == nil {
			err = cerr
		}
	}()
	return fn(lr)
}

// laterRepo is a repository open read-only until a command needs it
// writable.
type laterRepo struct {
	a        *app
	r        *repo.Repo // nil after a failed reopen
	canWrite bool
}

// writable closes the read-only repository and opens it writable (once).
func (lr *laterRepo) writable(ctx context.Context) (*repo.Repo, error) {
	if lr.canWrite {
		return lr.r, nil
	}
	err := lr.r.Close()
	lr.r = nil
	if err != nil {
		return nil, err
	}
	if lr.r, err = lr.a.openRepoWith(ctx, repo.Options{Short: true}); err != nil {
		return nil, err
	}
	lr.canWrite = true
	return lr.r, nil
}

// author is who new commits are by: FOLIO_AUTHOR_NAME/EMAIL, else the
// user.name and user.email settings.
func author(r *repo.Repo) (objects.Signature, error) {
	cfg, err := r.Config()
	if err != nil {
		return objects.Signature{}, err
	}
	sig := objects.Signature{Name: cfg["user.name"], Email: cfg["user.email"]}
	if v := os.Getenv("FOLIO_AUTHOR_NAME"); v != "" {
		sig.Name = v
	}
	if v := os.Getenv("FOLIO_AUTHOR_EMAIL"); v != "" {
		sig.Email = v
	}
	if sig.Name == "" || sig.Email == "" {
		return sig, fmt.Errorf("tell folio who you are first:\n  folio config --global user.name \"Your Name\"\n  folio config --global user.email you@example.com")
	}
	return sig, nil
}

// authorAndTime is who and when a new commit is.
func authorAndTime(r *repo.Repo) (objects.Signature, time.Time, error) {
	sig, err := author(r)
	if err != nil {
		return sig, time.Time{}, err
	}
	when, err := now()
	return sig, when, err
}

// now is the author date: FOLIO_AUTHOR_DATE (RFC 3339) if set, else the
// clock. It is only shown: the commit time, which decides conflicts, is
// always the repository's clock (see objects/repo.WriteCommit).
func now() (time.Time, error) {
	if v := os.Getenv("FOLIO_AUTHOR_DATE"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return t, fmt.Errorf("FOLIO_AUTHOR_DATE=%q: want RFC 3339, e.g. 2026-01-02T15:04:05+01:00", v)
		}
		return t, nil
	}
	return time.Now(), nil
}

// printJSON writes v as indented JSON on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.stdout, format, args...)
}

// warnSetAside warns, on every command, of data found only in table files
// the store's MANIFEST does not list (badgerstore/unlisted.go).
func (a *app) warnSetAside(r *repo.Repo) {
	if tables, n := r.SetAside(); tables > 0 {
		a.warnf("warning: %d table files the store's MANIFEST does not list, set aside, hold data it lacks "+
			"(%d entries): 'folio fsck' lists them", tables, n)
	}
}

func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "folio: "+format+"\n", args...)
}

// notef reports on stderr what a command did (a transfer's summary, what a
// reset dropped): a line of its own, not worded or prefixed like an error.
func (a *app) notef(format string, args ...any) {
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

// firstLine is a commit message's subject.
func firstLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	return line
}
