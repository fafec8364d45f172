package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
	"github.com/spf13/cobra"
)

type serveOptions struct {
	addr, root, authFile, tlsCert, tlsKey, logFormat string
	maxPush, maxDoc, cacheBytes, memoryLimit         int64
	shutdownGrace, maxClockSkew, idleClose, gcEvery  time.Duration
	stall, request, transfer                         time.Duration
	maxOpen                                          int
	openToAll, cacheSet                              bool
	peers                                            []string
	gcPrune                                          string
}

func newServeCommand(a *app) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve repositories to other leaders and applications over HTTP",
		Long: `Serve the current repository (or, with --root DIR, every repository in DIR at
/NAME/) on --addr: protocol v1 for clone, fetch, push and sync, and the
document API for applications:

  GET    /v1/docs/KEY?branch=B     read a document (ETag: its ID)
  PUT    /v1/docs/KEY?branch=B     write it: one commit (If-Match: "ID" makes it
                                   conditional: 412 when stale; If-None-Match: *
                                   creates only)
  DELETE /v1/docs/KEY?branch=B     delete it: one commit
  GET    /v1/docs?prefix=P&after=K&limit=N   list documents
  GET    /v1/log?branch=B&n=N      recent commits
  GET    /v1/changes?since=N|now&feed=longpoll|continuous&branch=B&prefix=P
                                   branch moves as JSON lines (see folio watch)
  GET    /healthz

With --auth FILE, requests need 'Authorization: Bearer TOKEN' (make tokens with
'folio serve token add'); without it, anyone who can reach --addr may read and
write, so the default address is 127.0.0.1, and another address without --auth
needs --open-to-all. --tls-cert and --tls-key serve
HTTPS. SIGINT or SIGTERM stops accepting requests and lets those in flight
finish, for up to --shutdown-grace; then it cancels those still running and
waits for them before closing the repositories. A push cut off moves no ref,
since a push's refs move all at once at its end. A push whose commits carry a
commit time more than --max-clock-skew ahead of this machine's clock is
refused: conflict winners go by commit time, and that sender's clock is wrong. Logs are structured
(log/slog) on stderr.

A client that stops sending or reading for --stall-timeout (or moves under
16 KiB in it) is dropped; a fetch, push or sync may take --transfer-timeout
in all, any other request --request-timeout.

While it runs, 'folio sync' in the repository goes through the server.

With --peer URL (or a remote's name; repeatable) the server keeps the
repository converged with that leader: it syncs when one of its branches moves
and when the peer's change feed says one of the peer's did, with the same
merge as 'folio sync', retrying with backoff. Remotes configured with
'folio config remote.NAME.peer true' are peers too. GET /v1/peers reports each.

Every --gc-every (0: never) it collects the garbage of the repositories it
has open, as 'folio gc --prune=AGE' with AGE from --gc-prune, while requests
go on.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cacheSet = cmd.Flags().Changed("cache-bytes")
			return a.serve(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:7420", "address to listen on")
	f.StringVar(&o.root, "root", "", "serve every repository in this folder at /NAME/")
	f.StringVar(&o.authFile, "auth", "", "file of hashed tokens (see 'folio serve token add')")
	f.BoolVar(&o.openToAll, "open-to-all", false, "serve without --auth on an address other machines reach: anyone there may read and write")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM)")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS key file (PEM)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.Int64Var(&o.maxPush, "max-push-bytes", server.DefaultLimits.MaxPushBytes, "largest push request body")
	f.Int64Var(&o.maxDoc, "max-doc-bytes", server.DefaultLimits.MaxDocumentSize, "largest document written through the API")
	f.DurationVar(&o.shutdownGrace, "shutdown-grace", 60*time.Second, "how long to let requests finish on shutdown")
	f.DurationVar(&o.maxClockSkew, "max-clock-skew", server.DefaultMaxClockSkew, "refuse pushed commits dated further ahead of this clock")
	f.DurationVar(&o.stall, "stall-timeout", server.DefaultLimits.StallTimeout, "drop a client that moves under 16 KiB in this long")
	f.DurationVar(&o.request, "request-timeout", server.DefaultLimits.RequestTimeout, "longest a document or refs request may take")
	f.DurationVar(&o.transfer, "transfer-timeout", server.DefaultLimits.TransferTimeout, "longest a fetch, push or sync may take")
	f.Int64Var(&o.cacheBytes, "cache-bytes", server.DefaultCacheBytes, "block cache of each repository served (clones and merges read a lot; with --memory-limit: a quarter of it shared by the repositories open at once, up to this default)")
	f.StringArrayVar(&o.peers, "peer", nil, "keep converged with this leader (URL or remote name; repeatable)")
	f.IntVar(&o.maxOpen, "max-open", server.DefaultMaxOpen, "with --root: most repositories open at once")
	f.DurationVar(&o.idleClose, "idle-close", server.DefaultIdleClose, "with --root: close a repository unused this long")
	f.Int64Var(&o.memoryLimit, "memory-limit", 0, "soft heap limit in bytes (0: 512 MiB plus the block caches and the 16 MiB of recent objects of the repositories open at once)")
	f.DurationVar(&o.gcEvery, "gc-every", 24*time.Hour, "how often to collect garbage (0: never)")
	f.StringVar(&o.gcPrune, "gc-prune", defaultPrune, "grace period of that collection (see folio gc --prune)")
	cmd.AddCommand(newTokenCommand(a))
	return cmd
}

func (a *app) serve(ctx context.Context, o serveOptions) error {
	if o.maxOpen <= 0 || o.idleClose <= 0 || o.memoryLimit < 0 {
		return usagef("--max-open, --idle-close and --memory-limit want positive values")
	}
	open := 1
	if o.root != "" {
		open = o.maxOpen
	}
	if !o.cacheSet {
		o.cacheBytes = server.CacheBytes(o.memoryLimit, open)
	}
	server.TuneMemory(o.memoryLimit, o.cacheBytes, open)
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if o.root != "" && len(o.peers) > 0 {
		return usagef("--peer keeps one repository converged: it does not go with --root")
	}
	logger, err := newLogger(a, o.logFormat)
	if err != nil {
		return err
	}
	if o.maxClockSkew <= 0 {
		return usagef("--max-clock-skew %s: want a positive duration, e.g. 10m", o.maxClockSkew)
	}
	grace, err := repo.ParseAge(o.gcPrune)
	if err != nil {
		return usagef("--gc-prune: %v", err)
	}
	if o.gcEvery > 0 && grace < server.DefaultLimits.TransferTimeout {
		logger.Warn("the gc grace period is shorter than a transfer may take: a slower push or write may lose objects",
			"gc-prune", o.gcPrune, "transfer-timeout", server.DefaultLimits.TransferTimeout)
	}
	opts := server.Options{Logger: logger, Limits: server.DefaultLimits, MaxClockSkew: o.maxClockSkew}
	opts.Limits.MaxPushBytes, opts.Limits.MaxDocumentSize = o.maxPush, o.maxDoc
	opts.Limits.StallTimeout, opts.Limits.RequestTimeout, opts.Limits.TransferTimeout = o.stall, o.request, o.transfer
	if o.authFile != "" {
		if opts.Auth, err = server.LoadAuth(o.authFile); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() && o.authFile == "" {
		if !o.openToAll {
			ln.Close()
			return usagef("serving %s without --auth would let anyone who reaches it read and write: "+
				"add --auth FILE (see 'folio serve token add'), or --open-to-all if that is what you want", o.addr)
		}
		a.warnf("warning: serving %s without --auth: anyone who reaches it may read and write", ln.Addr())
	}
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	baseURL := fmt.Sprintf("%s://%s/", scheme, ln.Addr())
	localURL := fmt.Sprintf("%s://%s/", scheme, loopback(ln.Addr()))
	cert := ""
	if o.tlsCert != "" {
		cert, _ = filepath.Abs(o.tlsCert)
	}
	// Commands run in a served repository find the server in its
	// serve.json (owner-only, a new file each time: never written through
	// what was left at its path): this process, a loopback URL, the
	// certificate to pin, a token for that repository alone, kept in
	// memory here, and the folder served (a copy of the file elsewhere
	// names another).
	// A repository closed when idle may be served by another folio serve
	// meanwhile (which removes its serve.json when it stops): each open
	// writes it again, and this process removes only its own.
	var announcedMu sync.Mutex
	announced := map[string]string{} // .folio folder: its admin token
	var names []string               // of the repositories served, for the collector
	announce := func(dir, path string) error {
		announcedMu.Lock()
		defer announcedMu.Unlock()
		token, seen := announced[dir]
		if !seen && opts.Auth != nil {
			name := filepath.Base(filepath.Dir(dir))
			var err error
			if token, err = opts.Auth.AddAdminToken(server.AdminTokenPrefix+name, []string{name}); err != nil {
				return err
			}
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		info, _ := json.Marshal(servedInfo{PID: os.Getpid(), URL: localURL + path, Token: token, Cert: cert, Dir: abs})
		if !seen {
			announced[dir] = token
			names = append(names, strings.TrimSuffix(path, "/"))
		}
		return repo.WriteFileAtomic(filepath.Join(dir, servedFile), info)
	}
	defer func() {
		for dir := range announced {
			path := filepath.Join(dir, servedFile)
			var info servedInfo
			if data, err := os.ReadFile(path); err == nil && json.Unmarshal(data, &info) == nil && info.PID == os.Getpid() {
				os.Remove(path)
			}
		}
	}()
	if o.root != "" {
		if info, err := os.Stat(o.root); err != nil {
			return fmt.Errorf("--root: %w", err)
		} else if !info.IsDir() {
			return fmt.Errorf("--root %s is not a folder", o.root)
		}
		opts.Repos = server.Root(o.root, func(ctx context.Context, dir string) (*repo.Repo, error) {
			r, err := repo.Open(ctx, dir, repo.Options{CacheBytes: o.cacheBytes, RecentBytes: server.RecentBytes})
			if err == nil {
				err = announce(dir, filepath.Base(filepath.Dir(dir))+"/")
			}
			return r, err
		}, server.RootOptions{MaxOpen: o.maxOpen, IdleClose: o.idleClose, Logger: logger})
	} else {
		r, err := a.openOwn(ctx, repo.Options{CacheBytes: o.cacheBytes, RecentBytes: server.RecentBytes})
		if err == nil {
			err = announce(r.Dir(), "")
		}
		if err != nil {
			ln.Close()
			return err
		}
		opts.Repos = server.Single(r)
	}
	defer opts.Repos.Close()
	if o.root == "" {
		peers, err := a.startPeers(ctx, opts.Repos, o.peers, logger)
		if err != nil {
			ln.Close()
			return err
		}
		defer peers.stop() // before the repository closes
		opts.Peers = func(*server.Repo) any { return peers.statuses() }
	}
	stopGC := autoGC(ctx, logger, o.gcEvery, grace, opts.Repos, func() []string {
		announcedMu.Lock()
		defer announcedMu.Unlock()
		return slices.Clone(names)
	})
	defer stopGC() // before the repositories close
	opts.Sync = func(ctx context.Context, r *repo.Repo, writes sync.Locker, req wire.SyncRequest) (any, error) {
		remotes, err := remotesFor(r.Files, req.Remotes)
		if err != nil {
			return nil, err
		}
		cfg, err := r.Config()
		if err != nil {
			return nil, err
		}
		timeouts, err := remote.ConfiguredTimeouts(cfg, 0)
		if err != nil {
			return nil, err
		}
		return remote.SyncAll(ctx, r, remotes, remote.SyncOptions{Attempts: req.Attempts, Writes: writes,
			Options: remote.Options{Timeouts: timeouts, AllowUnrelated: req.AllowUnrelated}}), nil
	}
	handler := server.New(opts)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("serving", "url", baseURL, "root", o.root, "auth", o.authFile != "")
	a.notef("serving on %s", baseURL)
	done := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			done <- srv.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: letting requests in flight finish", "grace", o.shutdownGrace)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), o.shutdownGrace)
	defer cancel()
	// The repositories close (deferred above) once no handler uses them.
	err = handler.Shutdown(shutdownCtx, srv)
	if serveErr := <-done; !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	if err != nil {
		return fmt.Errorf("shutdown: requests still running after %s were cancelled: %w", o.shutdownGrace, err)
	}
	return nil
}

// autoGC collects the garbage of the repositories repos returns, every
// interval, until the returned stop is called.
func autoGC(ctx context.Context, logger *slog.Logger, every, grace time.Duration, repos server.Repos, names func() []string) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, name := range names() {
				sr, done, err := repos.Get(ctx, name)
				if err != nil {
					logger.Warn("gc: open", "repo", name, "err", err)
					continue
				}
				r := sr.Repo
				rep, err := r.GC(ctx, repo.GCOptions{Grace: grace})
				done()
				if err != nil {
					logger.Warn("gc failed", "repo", r.Dir(), "err", err)
					continue
				}
				logger.Info("gc", "repo", r.Dir(), "deleted", rep.Deleted, "deleted_bytes", rep.DeletedBytes,
					"objects", rep.ObjectsAfter, "disk", rep.DiskAfter)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// loopback is the address commands on this machine use to reach a server
// listening on addr: the loopback address when it listens on all of them.
func loopback(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	ip := net.IPv4(127, 0, 0, 1)
	if tcp.IP.To4() == nil {
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

func newLogger(a *app, format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(a.stderr, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(a.stderr, nil)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

func newTokenCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage the tokens of a server's auth file",
		Args:  exactArgs(0),
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var authFile, scope string
	var repos []string
	var expires time.Duration
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a token and print it (once: only its hash is stored)",
		Example: `  folio serve token add ci --scope read-write --auth /etc/folio/auth.json
  folio serve token add dashboard --scope read --repo orders --auth auth.json
  folio serve token add contractor --expires 720h --auth auth.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if authFile == "" {
				return usagef("token add needs --auth FILE")
			}
			auth, err := server.LoadOrNewAuth(authFile)
			if err != nil {
				return err
			}
			var until time.Time
			if expires > 0 {
				until = time.Now().Add(expires).UTC().Truncate(time.Second)
			}
			token, err := auth.AddToken(args[0], server.Scope(scope), repos, until)
			if err != nil {
				return err
			}
			if err := auth.Save(authFile); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]string{"name": args[0], "token": token, "scope": scope})
			}
			a.printf("%s\n", token)
			return nil
		},
	}
	add.Flags().StringVar(&authFile, "auth", "", "the auth file to add to (created if missing)")
	add.Flags().StringVar(&scope, "scope", string(server.ScopeRead), "read or read-write")
	add.Flags().StringSliceVar(&repos, "repo", nil, "repositories it opens (default: all)")
	add.Flags().DurationVar(&expires, "expires", 0, "stop accepting the token after this long (default: never)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List token names and scopes",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			auth, err := server.LoadAuth(authFile)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(auth.Tokens)
			}
			for _, t := range auth.Tokens {
				until := "never expires"
				if t.Expires != nil {
					until = "expires " + t.Expires.Format(time.RFC3339)
				}
				a.printf("%s\t%s\t%s\t%s\n", t.Name, t.Scope, strings.Join(t.Repos, ","), until)
			}
			return nil
		},
	}
	list.Flags().StringVar(&authFile, "auth", "", "the auth file")
	remove := &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"rm"},
		Short:   "Remove a token: a running server refuses it from its next request",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			auth, err := server.LoadAuth(authFile)
			if err != nil {
				return err
			}
			if err := auth.RemoveToken(args[0]); err != nil {
				return err
			}
			return auth.Save(authFile)
		},
	}
	remove.Flags().StringVar(&authFile, "auth", "", "the auth file")
	cmd.AddCommand(add, list, remove)
	return cmd
}
