package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
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
	maxPush, maxDoc, cacheBytes                      int64
	shutdownGrace, gcEvery                           time.Duration
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
  GET    /healthz

With --auth FILE, requests need 'Authorization: Bearer TOKEN' (make tokens with
'folio serve token add'); without it, anyone who can reach --addr may read and
write, so the default address is 127.0.0.1. --tls-cert and --tls-key serve
HTTPS. SIGINT or SIGTERM stops accepting requests and lets those in flight
finish, for up to --shutdown-grace; a push cut off after that moves no ref,
since a push's refs move all at once at its end. Logs are structured
(log/slog) on stderr.

While it runs, 'folio sync' in the repository goes through the server.

Every --gc-every (0: never) it collects the garbage of the repositories it
has open, as 'folio gc --prune=AGE' with AGE from --gc-prune, while requests
go on.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return a.serve(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:7420", "address to listen on")
	f.StringVar(&o.root, "root", "", "serve every repository in this folder at /NAME/")
	f.StringVar(&o.authFile, "auth", "", "file of hashed tokens (see 'folio serve token add')")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM)")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS key file (PEM)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.Int64Var(&o.maxPush, "max-push-bytes", server.DefaultLimits.MaxPushBytes, "largest push request body")
	f.Int64Var(&o.maxDoc, "max-doc-bytes", server.DefaultLimits.MaxDocumentSize, "largest document written through the API")
	f.DurationVar(&o.shutdownGrace, "shutdown-grace", 60*time.Second, "how long to let requests finish on shutdown")
	f.Int64Var(&o.cacheBytes, "cache-bytes", server.DefaultCacheBytes, "block cache of each repository served (clones and merges read a lot)")
	f.DurationVar(&o.gcEvery, "gc-every", 24*time.Hour, "how often to collect garbage (0: never)")
	f.StringVar(&o.gcPrune, "gc-prune", defaultPrune, "grace period of that collection (see folio gc --prune)")
	cmd.AddCommand(newTokenCommand(a))
	return cmd
}

func (a *app) serve(ctx context.Context, o serveOptions) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		// A long-running server sizes its own heap; the limit that keeps
		// short commands small would make it collect all the time.
		debug.SetMemoryLimit(math.MaxInt64)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	logger, err := newLogger(a, o.logFormat)
	if err != nil {
		return err
	}
	grace, err := repo.ParseAge(o.gcPrune)
	if err != nil {
		return usagef("--gc-prune: %v", err)
	}
	if o.gcEvery > 0 && grace < server.DefaultLimits.TransferTimeout {
		logger.Warn("the gc grace period is shorter than a transfer may take: a slower push or write may lose objects",
			"gc-prune", o.gcPrune, "transfer-timeout", server.DefaultLimits.TransferTimeout)
	}
	opts := server.Options{Logger: logger, Limits: server.DefaultLimits}
	opts.Limits.MaxPushBytes, opts.Limits.MaxDocumentSize = o.maxPush, o.maxDoc
	if o.authFile != "" {
		if opts.Auth, err = server.LoadAuth(o.authFile); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
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
	// Commands run in a served repository (folio sync) find the server in
	// its serve.json (owner-only): a loopback URL, the certificate to pin,
	// and a token for that repository alone, kept in memory here.
	var announcedMu sync.Mutex
	var announced []string
	var served []*repo.Repo
	announce := func(r *repo.Repo, path string) error {
		dir := r.Dir()
		token := ""
		if opts.Auth != nil {
			name := filepath.Base(filepath.Dir(dir))
			var err error
			if token, err = opts.Auth.AddToken("local-admin", server.ScopeReadWrite, []string{name}); err != nil {
				return err
			}
		}
		info, _ := json.Marshal(servedInfo{PID: os.Getpid(), URL: localURL + path, Token: token, Cert: cert})
		announcedMu.Lock()
		announced = append(announced, dir)
		served = append(served, r)
		announcedMu.Unlock()
		return os.WriteFile(filepath.Join(dir, servedFile), info, 0o600)
	}
	defer func() {
		for _, dir := range announced {
			os.Remove(filepath.Join(dir, servedFile))
		}
	}()
	if o.root != "" {
		opts.Repos = server.Root(o.root, func(ctx context.Context, dir string) (*repo.Repo, error) {
			r, err := repo.Open(ctx, dir, repo.Options{CacheBytes: o.cacheBytes})
			if err == nil {
				err = announce(r, filepath.Base(filepath.Dir(dir))+"/")
			}
			return r, err
		})
	} else {
		r, err := a.openRepoWith(ctx, repo.Options{CacheBytes: o.cacheBytes})
		if err == nil {
			err = announce(r, "")
		}
		if err != nil {
			ln.Close()
			return err
		}
		opts.Repos = server.Single(r)
	}
	defer opts.Repos.Close()
	stopGC := autoGC(ctx, logger, o.gcEvery, grace, func() []*repo.Repo {
		announcedMu.Lock()
		defer announcedMu.Unlock()
		return slices.Clone(served)
	})
	defer stopGC() // before the repositories close
	opts.Sync = func(ctx context.Context, r *repo.Repo, writes sync.Locker, req wire.SyncRequest) (any, error) {
		remotes, err := remotesFor(r.Files, req.Remotes)
		if err != nil {
			return nil, err
		}
		return syncAll(ctx, r, remotes, remote.SyncOptions{Attempts: req.Attempts, Writes: writes}), nil
	}
	srv := &http.Server{Handler: server.New(opts), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("serving", "url", baseURL, "root", o.root, "auth", o.authFile != "")
	a.warnf("serving on %s", baseURL)
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
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// autoGC collects the garbage of the repositories repos returns, every
// interval, until the returned stop is called.
func autoGC(ctx context.Context, logger *slog.Logger, every, grace time.Duration, repos func() []*repo.Repo) (stop func()) {
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
			for _, r := range repos() {
				rep, err := r.GC(ctx, repo.GCOptions{Grace: grace})
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
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a token and print it (once: only its hash is stored)",
		Example: `  folio serve token add ci --scope read-write --auth /etc/folio/auth.json
  folio serve token add dashboard --scope read --repo orders --auth auth.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if authFile == "" {
				return usagef("token add needs --auth FILE")
			}
			auth, err := server.LoadOrNewAuth(authFile)
			if err != nil {
				return err
			}
			token, err := auth.AddToken(args[0], server.Scope(scope), repos)
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
				a.printf("%s\t%s\t%s\n", t.Name, t.Scope, strings.Join(t.Repos, ","))
			}
			return nil
		},
	}
	list.Flags().StringVar(&authFile, "auth", "", "the auth file")
	cmd.AddCommand(add, list)
	return cmd
}
