package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// An open repository costs memory (Badger's memtables, its block cache)
// whether it is used or not, so a server of a folder keeps only some open.
const (
	DefaultMaxOpen   = 4
	DefaultIdleClose = 5 * time.Minute
)

// ErrBusy says every repository the server may keep open stayed in use
// for as long as a request could wait.
var ErrBusy = errors.New("too many repositories in use at once; retry shortly")

// RootOptions bound the repositories a Root keeps open.
type RootOptions struct {
	// MaxOpen is how many repositories may be open at once (zero:
	// DefaultMaxOpen). Opening one more closes the one unused longest; a
	// request that needs one more while all are in use waits for one to
	// be done, and gets ErrBusy if its time runs out first.
	MaxOpen int
	// IdleClose closes a repository no request has used for this long
	// (zero: DefaultIdleClose).
	IdleClose time.Duration
	// Logger receives the errors of closing a repository.
	Logger *slog.Logger
}

// Root serves every repository in a folder, at /NAME/, opening each on
// first use and closing it when it has been idle for a while or its place
// is needed.
func Root(dir string, open func(ctx context.Context, dir string) (*repo.Repo, error), opts RootOptions) Repos {
	if opts.MaxOpen <= 0 {
		opts.MaxOpen = DefaultMaxOpen
	}
	if opts.IdleClose <= 0 {
		opts.IdleClose = DefaultIdleClose
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rt := &root{dir: dir, open: open, opts: opts, repos: map[string]*rootEntry{}, moved: map[string]chan struct{}{},
		stop: make(chan struct{}), freed: make(chan struct{})}
	go rt.sweepEvery(opts.IdleClose / 2)
	return rt
}

type root struct {
	dir   string
	open  func(ctx context.Context, dir string) (*repo.Repo, error)
	opts  RootOptions
	stop  chan struct{}
	mu    sync.Mutex
	repos map[string]*rootEntry
	freed chan struct{} // closed and replaced when a repository falls idle
	// moved holds, by repository name, a channel closed at that
	// repository's next branch move; unlike the store's own (see
	// repo.Moved), it outlives the repository's closing, so change-feed
	// readers wait on it without keeping the repository open.
	moved map[string]chan struct{}
	done  bool
}

type rootEntry struct {
	r        *Repo
	users    int           // requests using it now
	lastUsed time.Time     // when the last user was done
	closed   chan struct{} // closed when r is
}

func (rt *root) Multi() bool  { return true }
func (rt *root) Name() string { return "" }

func (rt *root) Get(ctx context.Context, name string) (*Repo, func(), error) {
	if name == "" || name != filepath.Base(name) || name[0] == '.' || objects.ValidateKey(name) != nil {
		return nil, nil, fmt.Errorf("%w: repository %q", objects.ErrNotFound, name)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	e, err := rt.entry(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	e.users++
	var once sync.Once
	return e.r, func() { once.Do(func() { rt.release(e) }) }, nil
}

// entry finds or opens a repository, waiting (within ctx) for one in use
// to be done when as many as may be open are in use. rt.mu is held.
func (rt *root) entry(ctx context.Context, name string) (*rootEntry, error) {
	for {
		if rt.done {
			return nil, ErrBusy
		}
		if e, ok := rt.repos[name]; ok {
			return e, nil
		}
		dir := filepath.Join(rt.dir, name, repo.DirName)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: repository %q", objects.ErrNotFound, name)
		}
		if len(rt.repos) < rt.opts.MaxOpen || rt.closeLeastUsed() {
			r, err := rt.open(ctx, dir)
			if err != nil {
				return nil, err
			}
			e := &rootEntry{r: &Repo{Repo: r, Name: name}, closed: make(chan struct{})}
			// Taken before any request uses r, so no move is missed.
			if moved, err := r.Moved(); err == nil {
				go rt.relayMoves(e, moved)
			}
			rt.repos[name] = e
			return e, nil
		}
		freed := rt.freed
		rt.mu.Unlock()
		select {
		case <-freed:
			rt.mu.Lock()
		case <-ctx.Done():
			rt.mu.Lock()
			return nil, fmt.Errorf("%w (%w)", ErrBusy, ctx.Err())
		}
	}
}

func (rt *root) release(e *rootEntry) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	e.users--
	e.lastUsed = time.Now()
	if e.users == 0 {
		close(rt.freed) // wakes the requests waiting for a place
		rt.freed = make(chan struct{})
	}
}

// closeLeastUsed closes the repository unused longest, if one is unused.
func (rt *root) closeLeastUsed() bool {
	var oldest *rootEntry
	for _, e := range rt.repos {
		if e.users == 0 && (oldest == nil || e.lastUsed.Before(oldest.lastUsed)) {
			oldest = e
		}
	}
	if oldest == nil {
		return false
	}
	rt.closeEntry(oldest)
	return true
}

func (rt *root) closeEntry(e *rootEntry) {
	delete(rt.repos, e.r.Name)
	close(e.closed)
	if err := e.r.Close(); err != nil {
		rt.opts.Logger.Warn("closing a repository", "repo", e.r.Name, "err", err)
	}
}

// Moved returns a channel closed at the next branch move of the named
// repository, open or not: a repository is only written while open, and
// its moves are relayed from then on.
func (rt *root) Moved(name string) <-chan struct{} {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	ch, ok := rt.moved[name]
	if !ok {
		ch = make(chan struct{})
		rt.moved[name] = ch
	}
	return ch
}

// relayMoves passes the moves of an open repository on to the channels of
// Moved until the repository is closed. It takes the store's next channel
// before it signals, so a move made while it signals is not missed.
func (rt *root) relayMoves(e *rootEntry, moved <-chan struct{}) {
	for {
		select {
		case <-e.closed:
			return
		case <-moved:
		}
		next, err := e.r.Moved()
		rt.mu.Lock()
		if ch, ok := rt.moved[e.r.Name]; ok {
			close(ch)
			delete(rt.moved, e.r.Name) // no entry is kept for repositories nobody watches
		}
		rt.mu.Unlock()
		if err != nil {
			return
		}
		moved = next
	}
}

// sweep closes the repositories unused since before now-IdleClose and
// returns how many are left open.
func (rt *root) sweep(now time.Time) int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, e := range rt.repos {
		if e.users == 0 && now.Sub(e.lastUsed) >= rt.opts.IdleClose {
			rt.closeEntry(e)
		}
	}
	return len(rt.repos)
}

func (rt *root) sweepEvery(d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-rt.stop:
			return
		case now := <-t.C:
			rt.sweep(now)
		}
	}
}

func (rt *root) Close() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.done {
		return nil
	}
	rt.done = true
	close(rt.stop)
	close(rt.freed)
	var errs []error
	for _, e := range rt.repos {
		close(e.closed)
		errs = append(errs, e.r.Close())
	}
	clear(rt.repos)
	for _, ch := range rt.moved {
		close(ch) // wakes the feeds, which then find the server closed
	}
	clear(rt.moved)
	return errors.Join(errs...)
}

// MemoryBase is the heap a server needs besides its repositories' block
// caches: request buffers, uploads being chunked, Badger's memtables.
const MemoryBase = 512 << 20

// GCPercent is a server's collector setting (GOGC). A server's heap is
// mostly block caches, bytes the collector does not scan, so collecting
// more often costs little, and the heap stays near 1.5 times what it
// holds instead of 2 (Go's default) or 3 (the CLI's short commands): a
// clone of 200,000 commits peaked at 601 MiB of heap with 200, 403 with
// 100 and 303 with 50 (servermem_bench_test.go).
const GCPercent = 50

// TuneMemory sets the process's soft heap limit (MemoryLimit) and
// GCPercent for a server, unless GOMEMLIMIT or GOGC say otherwise.
func TuneMemory(limit, cacheBytes int64, open int) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit(limit, cacheBytes, open))
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}

// MinCacheBytes is the least block cache CacheBytes gives a repository.
const MinCacheBytes = 8 << 20

// CacheBytes is the block cache of each repository a server keeps under
// a soft heap limit (none: DefaultCacheBytes): a quarter of the limit,
// shared by the repositories open at once, between MinCacheBytes and
// DefaultCacheBytes. The rest is the work's: Badger's memtables (about 21
// MiB a repository), transfers and requests, and at GCPercent 50 garbage
// up to half of what is live. A clone of 200,000 commits peaked at 177
// MiB of heap with a 64 MiB cache (a 256 MiB limit) and 239 MiB with 256
// MiB (servermem_bench_test.go), taking 36 s instead of 25-33 s.
func CacheBytes(limit int64, open int) int64 {
	if limit <= 0 {
		return DefaultCacheBytes
	}
	return min(DefaultCacheBytes, max(MinCacheBytes, limit/4/int64(max(open, 1))))
}

// MemoryLimit is the soft heap limit of a server: limit if positive, else
// MemoryBase plus the block caches and recent objects (RecentBytes) of the
// repositories open at once. Go's collector works harder as the heap nears
// it, instead of letting the heap double past what the server holds.
func MemoryLimit(limit, cacheBytes int64, open int) int64 {
	if limit > 0 {
		return limit
	}
	return MemoryBase + (cacheBytes+RecentBytes)*int64(open)
}
