package server

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

// Limits bound what one request may make the server do.
type Limits struct {
	MaxPushBytes    int64         // a push request's body (its pack, compressed)
	MaxObjectSize   int64         // one object in a pack
	MaxDocumentSize int64         // one document written through the API
	TransferTimeout time.Duration // a fetch, push or sync
	RequestTimeout  time.Duration // any other request
	// StallTimeout is the longest a request body may take to move
	// wire.StallBytes (or to end), and one write of a reply to go out: a
	// client that stops sending or reading, or trickles, is dropped.
	StallTimeout time.Duration
	// GroupWait is how long a group of document writes waits for the
	// next write to join it, once the group before it is durable, for that
	// group's writers to send their next writes so that they share one
	// sync (see groupcommit.go); 4 GroupWaits at most.
	GroupWait time.Duration
}

// DefaultCacheBytes is the block cache a server gives each repository it
// opens: clones and merges read many objects, and a read from a block not
// cached decompresses the block.
const DefaultCacheBytes = 256 << 20

// RecentBytes is how much of the objects it wrote or read lately a server
// keeps in memory for each repository it opens (repo.Options.RecentBytes):
// its peers fetch what it just wrote, and its merges and receives read
// the commits and nodes that just arrived.
const RecentBytes = 16 << 20

// DefaultLimits suit a server for a few applications and leaders.
var DefaultLimits = Limits{
	MaxPushBytes:    8 << 30,
	MaxObjectSize:   wire.DefaultMaxObjectSize,
	MaxDocumentSize: 256 << 20,
	TransferTimeout: 30 * time.Minute,
	RequestTimeout:  time.Minute,
	StallTimeout:    time.Minute,
	// A writer on the same machine or network sends its next write well
	// within it. On a 2-core machine loaded 6x over, 1 ms and 3 ms gave
	// the same throughput (writers then took longer to come back).
	GroupWait: time.Millisecond,
}

// withDefaults fills every zero limit from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxPushBytes > 0 {
		d.MaxPushBytes = l.MaxPushBytes
	}
	if l.MaxObjectSize > 0 {
		d.MaxObjectSize = l.MaxObjectSize
	}
	if l.MaxDocumentSize > 0 {
		d.MaxDocumentSize = l.MaxDocumentSize
	}
	if l.TransferTimeout > 0 {
		d.TransferTimeout = l.TransferTimeout
	}
	if l.RequestTimeout > 0 {
		d.RequestTimeout = l.RequestTimeout
	}
	if l.StallTimeout > 0 {
		d.StallTimeout = l.StallTimeout
	}
	if l.GroupWait > 0 {
		d.GroupWait = l.GroupWait
	}
	return d
}

// SyncFunc syncs a served repository with its remotes, for POST /v1/sync.
// writes is the lock the server's document writes take: a sync holds it
// while it moves a branch, so the two do not race.
type SyncFunc func(ctx context.Context, r *repo.Repo, writes sync.Locker, req wire.SyncRequest) (any, error)

// Options configure a server.
type Options struct {
	Repos  Repos
	Auth   *Auth // nil: no authorisation
	Limits Limits
	Logger *slog.Logger
	Sync   SyncFunc
	// Now is the server's clock: the author date of commits made through
	// the document API, and what pushed commit times are checked against.
	Now func() time.Time
	// MaxClockSkew is how far ahead of Now a pushed commit's commit time
	// may be (zero: DefaultMaxClockSkew).
	MaxClockSkew time.Duration
	// Peers, when set, reports the peerings of a repository, for GET
	// /v1/peers (peers.go).
	Peers func(repo *Repo) any
}

// Server is the HTTP handler of one or many repositories.
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux

	stop     context.Context // done when Shutdown gives up waiting
	stopAll  context.CancelFunc
	draining context.Context // done when Shutdown begins: feeds end then
	drain    context.CancelFunc
	mu       sync.Mutex
	stopped  bool // Shutdown is waiting for the handlers: take no more
	inflight sync.WaitGroup
}

// New returns a server; its ServeHTTP is the handler.
func New(opts Options) *Server {
	opts.Limits = opts.Limits.withDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxClockSkew <= 0 {
		opts.MaxClockSkew = DefaultMaxClockSkew
	}
	s := &Server{opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	s.stop, s.stopAll = context.WithCancel(context.Background())
	s.draining, s.drain = context.WithCancel(context.Background())
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /"+wire.PathToken, s.tokenInfo)
	prefix := ""
	if opts.Repos.Multi() {
		prefix = "/{repo}"
		s.mux.HandleFunc("GET /{repo}/"+wire.PathToken, s.tokenInfo)
	}
	routes := []route{
		{"GET /" + wire.PathRefs, ScopeRead, opts.Limits.RequestTimeout, s.refs},
		{"POST /" + wire.PathFetch, ScopeRead, opts.Limits.TransferTimeout, s.fetch},
		{"POST /" + wire.PathPush, ScopeReadWrite, opts.Limits.TransferTimeout, s.push},
		{"POST /" + wire.PathObjects, ScopeRead, opts.Limits.TransferTimeout, s.objects},
		// Any reader may ask: PathObjects answers with the objects themselves.
		{"POST /" + wire.PathHas, ScopeRead, opts.Limits.RequestTimeout, s.storeHas},
		{"POST /" + wire.PathSync, ScopeReadWrite, opts.Limits.TransferTimeout, s.sync},
		{"GET /" + wire.PathLog, ScopeRead, opts.Limits.RequestTimeout, s.log_},
		{"GET /" + wire.PathChanges, ScopeRead, opts.Limits.TransferTimeout, s.changes}, // changes.go
		{"GET /" + wire.PathPeers, ScopeRead, opts.Limits.RequestTimeout, s.peers},      // peers.go
		{"GET /" + wire.PathDocs, ScopeRead, opts.Limits.RequestTimeout, s.listDocs},
		{"GET /" + wire.PathDocs + "/{key...}", ScopeRead, opts.Limits.RequestTimeout, s.getDoc},
		{"PUT /" + wire.PathDocs + "/{key...}", ScopeReadWrite, opts.Limits.RequestTimeout, s.putDoc},
		{"DELETE /" + wire.PathDocs + "/{key...}", ScopeReadWrite, opts.Limits.RequestTimeout, s.deleteDoc},
	}
	routes = append(routes, s.storeRoutes()...) // store.go
	for _, rt := range routes {
		method, path, _ := cut(rt.pattern)
		s.mux.HandleFunc(method+" "+prefix+path, s.wrap(rt.scope, rt.timeout, rt.handle))
	}
	return s
}

// route is one endpoint: who may call it and how long it may take.
type route struct {
	pattern string
	scope   Scope
	timeout time.Duration
	handle  func(*request) error
}

func cut(pattern string) (method, path string, ok bool) {
	for i := range pattern {
		if pattern[i] == ' ' {
			return pattern[:i], pattern[i+1:], true
		}
	}
	return "", pattern, false
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// request is what a handler gets: the request, its repository and who asked.
type request struct {
	*http.Request
	w     http.ResponseWriter
	repo  *Repo
	token string
	name  string // of the repository, "" when one is served
	repos Repos
	done  func()          // lets go of repo; nil when not held
	moved <-chan struct{} // a feed that let go of repo waits on this (see waitChanges)
}

// hold gets the request's repository, unless it holds it already.
func (q *request) hold() error {
	if q.done != nil {
		return nil
	}
	rp, done, err := q.repos.Get(q.Context(), q.name)
	if err != nil {
		return err
	}
	q.repo, q.done = rp, done
	return nil
}

// letGo lets go of the request's repository (a change feed does while it
// waits, see waitChanges); q.repo stays set for its name only.
func (q *request) letGo() {
	if q.done != nil {
		q.done()
		q.done = nil
	}
}

// wrap authorises, opens the repository, bounds the time and the stalls,
// logs, and turns a returned error into a JSON error.
func (s *Server) wrap(scope Scope, timeout time.Duration, handle func(*request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.enter() {
			s.writeError(w, r, errShuttingDown)
			return
		}
		defer s.inflight.Done()
		start := time.Now()
		name := r.PathValue("repo")
		if name == "" {
			name = s.opts.Repos.Name() // tokens may name the one repository served
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		defer context.AfterFunc(s.stop, cancel)()
		r = r.WithContext(ctx)
		w, r.Body = guard(w, r.Body, s.opts.Limits.StallTimeout)
		if err := s.opts.Auth.reload(); err != nil {
			s.log.Warn("the auth file could not be read again; its tokens stay as they were", "err", err)
		}
		token, err := s.opts.Auth.check(r, name, scope)
		q := &request{Request: r, w: w, token: token, name: name, repos: s.opts.Repos}
		if err == nil {
			err = q.hold()
			defer q.letGo()
		}
		if err == nil {
			err = handle(q)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "repo", name, "token", token,
			"status", statusOf(err), "duration", time.Since(start))
	}
}

// errShuttingDown answers requests that arrive while the server stops.
var errShuttingDown = &wire.Error{Code: "internal", Message: "the server is shutting down; try again later"}

// enter counts a request in, unless the server is stopping.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.inflight.Add(1)
	return true
}

// Shutdown stops hs, which serves s: it ends change feeds at once (they
// would not end by themselves), stops taking requests and lets those in
// flight finish until ctx ends, then cancels the contexts of those still
// running, closes their connections and waits for their handlers to
// return. The repositories can be closed after it returns:
// no handler uses them any more. It returns hs.Shutdown's error.
func (s *Server) Shutdown(ctx context.Context, hs *http.Server) error {
	s.drain()
	err := hs.Shutdown(ctx)
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	if err != nil {
		s.stopAll()
		hs.Close()
	}
	s.inflight.Wait()
	return err
}

func statusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	return status(err)
}

// Repo is a served repository. Writes through the server take its lock, so
// document writes on one branch queue instead of racing.
type Repo struct {
	*repo.Repo
	Name    string
	writeMu sync.Mutex
	docs    docQueue // document writes waiting for a group commit (groupcommit.go)
	// lastHead is the head commit document reads last decoded (docs.go).
	lastHead atomic.Pointer[headCommit]
}

// Writes is the lock the server's writes to this repository take; others
// that move its branches (folio serve's peers) take it too.
func (r *Repo) Writes() sync.Locker { return &r.writeMu }

// Repos finds served repositories by name.
type Repos interface {
	// Get returns a repository and the function to call when done with
	// it; name is "" when one repository is served.
	Get(ctx context.Context, name string) (*Repo, func(), error)
	// Multi reports whether repositories are served by name.
	Multi() bool
	// Name is the name of the one repository served (Multi false), by
	// which tokens may name it.
	Name() string
	// Close closes every repository opened.
	Close() error
}

// Single serves one open repository at the root. Its name, for tokens
// limited to some repositories, is the name of the folder holding .folio.
func Single(r *repo.Repo) Repos {
	return &single{r: &Repo{Repo: r, Name: filepath.Base(filepath.Dir(r.Dir()))}}
}

type single struct{ r *Repo }

func (s *single) Get(context.Context, string) (*Repo, func(), error) { return s.r, func() {}, nil }
func (s *single) Multi() bool                                        { return false }
func (s *single) Name() string                                       { return s.r.Name }
func (s *single) Close() error                                       { return s.r.Close() }
