package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/folio-db/folio/objects/badgerstore"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/wire"
	"github.com/spf13/cobra"
)

func newSyncCommand(a *app) *cobra.Command {
	var attempts int
	var allowUnrelated bool
	cmd := &cobra.Command{
		Use:   "sync [REMOTE...]",
		Short: "Fetch, merge and push back: what CI jobs run",
		Long: `For each REMOTE (default: every remote): fetch, converge each branch that
syncs with the remote's (the same merge commit any leader would make), and push
back what the remote lacks. A push that lost a race is retried with backoff.

The branches that sync are those the remote has, and those only here whose
name matches the sync.branches setting (patterns such as "main, team/*", where
'*' matches anything; default: main; "*": every branch). Others are reported
as unpublished ('folio push REMOTE BRANCH' publishes one). A branch deleted
here stays deleted ("deleted-here") while the remote still holds it where this
repository last saw it (refs/remotes/REMOTE/BRANCH); if the remote moved it
since, sync brings it back. Branches with
staged changes are left alone and reported. A branch that shares no commit
with the remote's (a remote pointing at another repository) stops the sync
with that remote before anything moves, unless --allow-unrelated-histories.

If the repository is being served by 'folio serve', the server runs the sync.

A remote that fails (down, or silent for --timeout) is reported and the others
are still synced.

Exit status: 0 synced, 3 synced and new conflicts were recorded, 1 failed
(with any remote).
With --json the report lists, per remote, requests made, objects and bytes
sent and received, refs updated, and what happened to each branch.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if info, err := a.served(); err == nil && a.locked() {
				reports, err := a.syncThroughServer(ctx, info, wire.SyncRequest{Remotes: args, Attempts: attempts, AllowUnrelated: allowUnrelated})
				if err != nil {
					return err
				}
				return a.reportSync(reports)
			}
			var reports []*remote.SyncReport
			err := a.withRepoMerging(ctx, func(r *repo.Repo) error {
				remotes, err := remotesFor(r.Files, args)
				if err != nil {
					return err
				}
				opts, err := a.repoRemoteOptions(r, nil)
				if err != nil {
					return err
				}
				opts.AllowUnrelated = allowUnrelated
				reports = remote.SyncAll(ctx, r, remotes, remote.SyncOptions{Options: opts, Attempts: attempts})
				return nil
			})
			if err != nil {
				return err
			}
			return a.reportSync(reports)
		},
	}
	cmd.Flags().IntVar(&attempts, "attempts", 10, "tries per remote when pushes lose races")
	cmd.Flags().BoolVar(&allowUnrelated, "allow-unrelated-histories", false, "merge branches that share no commit with the remote's")
	return a.timeoutFlag(cmd)
}

func (a *app) reportSync(reports []*remote.SyncReport) error {
	failed, conflicts, skipped := 0, 0, 0
	for _, rep := range reports {
		conflicts += rep.NewConflicts()
		if rep.Error != "" {
			failed++
		}
		for _, b := range rep.Branches {
			if b.Action == "skipped" {
				skipped++
			}
		}
	}
	if a.jsonOut {
		if err := a.printJSON(reports); err != nil {
			return err
		}
	} else {
		for _, rep := range reports {
			a.printf("%s: %s, %s received, %s sent\n", rep.Remote, plural(rep.Requests, "request"), humanBytes(rep.BytesReceived), humanBytes(rep.BytesSent))
			for _, b := range rep.Branches {
				a.printf("  ")
				a.printBranchSync(b)
			}
			if rep.Error != "" {
				a.printf("  failed: %s\n", wire.UserText(rep.Error))
			}
		}
	}
	switch {
	case failed > 0:
		return fmt.Errorf("sync failed with %d of %d remotes", failed, len(reports))
	case skipped > 0:
		// A branch left behind is not synced, whatever else went well.
		return fmt.Errorf("%d branch(es) not synced because of staged changes: commit or reset them", skipped)
	case conflicts > 0:
		return &conflictsRecorded{conflicts}
	}
	return nil
}

// servedFile is written by folio serve into a repository it holds, so
// commands run there can find it.
const servedFile = "serve.json"

type servedInfo struct {
	PID   int    `json:"pid"`
	URL   string `json:"url"`             // a loopback URL
	Token string `json:"token,omitempty"` // for this repository alone
	Cert  string `json:"cert,omitempty"`  // the server's certificate, pinned
	Dir   string `json:"dir"`             // the .folio folder it serves
}

// errForeignServe: a serve.json naming a server that is not on this
// machine; folio serve never writes one.
var errForeignServe = errors.New("names a server that is not on this machine (folio serve writes a loopback address): refusing to send this repository to it; delete the file if no folio serve runs here")

// errStaleServe: a serve.json of another folder (copied with it) or of a
// process that is gone.
var errStaleServe = errors.New("stale: not written for this folder by a running folio serve")

// served reads the serve.json of the repository a command would open. It
// is trusted only as folio serve writes it: a loopback URL without
// credentials (errForeignServe), for this very folder, by a process alive
// (errStaleServe). A copied serve.json, or one left by a server that died
// while another took its port, must not send this repository's changes
// into another's.
func (a *app) served() (*servedInfo, error) {
	dir, err := a.repoDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, servedFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var info servedInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	u, err := url.Parse(info.URL)
	if ip := net.ParseIP(u.Hostname()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%s %w", path, errForeignServe)
	}
	if !sameFile(info.Dir, dir) || !processAlive(info.PID) {
		return nil, fmt.Errorf("%s: %w", path, errStaleServe)
	}
	return &info, nil
}

// sameFile reports whether paths a and b name one folder.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// locked reports whether another process holds the repository now,
// without waiting: a serve.json left by a server that died is stale.
func (a *app) locked() bool {
	dir, err := a.repoDir()
	if err != nil {
		return false
	}
	r, err := repo.Open(context.Background(), dir, repo.Options{ReadOnly: true})
	if err != nil {
		return errors.Is(err, badgerstore.ErrLocked)
	}
	r.Close()
	return false
}

// client reaches the server with serve.json's token, pinning its
// certificate.
func (info *servedInfo) client(timeout time.Duration) (*client.Client, error) {
	timeouts := client.TimeoutsOf(timeout)
	httpClient, err := pinnedClient(info.Cert, timeouts)
	if err != nil {
		return nil, err
	}
	return client.New(info.URL, client.Options{Token: info.Token, HTTP: httpClient, Timeouts: timeouts})
}

// syncThroughServer asks the folio serve process holding the repository to
// run the sync.
func (a *app) syncThroughServer(ctx context.Context, info *servedInfo, req wire.SyncRequest) ([]*remote.SyncReport, error) {
	c, err := info.client(a.timeout)
	if err != nil {
		return nil, err
	}
	// The sync's reply may take as long as the server's own sync: first
	// make sure the server answers at all.
	err = info.probe(ctx, servedAnswerWait, func(ctx context.Context) error {
		_, err := c.Token(ctx)
		return err
	})
	if errors.Is(err, errNotServed) {
		return nil, fmt.Errorf("folio serve (pid %d) at %s went away: run the command again", info.PID, info.URL)
	}
	if err != nil {
		return nil, err
	}
	raw, err := c.Sync(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("sync through folio serve at %s: %w", info.URL, err)
	}
	var reports []*remote.SyncReport
	if err := json.Unmarshal(raw, &reports); err != nil {
		return nil, fmt.Errorf("sync through folio serve: %w", err)
	}
	return reports, nil
}

// pinnedClient reaches the local server over TLS by trusting exactly the
// certificate it serves, whatever name the certificate is for (the URL is a
// loopback address). Without a certificate it is the default client.
func pinnedClient(certFile string, timeouts client.Timeouts) (*http.Client, error) {
	if certFile == "" {
		return client.NewHTTPClient(timeouts, nil), nil
	}
	data, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM certificate", certFile)
	}
	pinned := block.Bytes
	return client.NewHTTPClient(timeouts, &tls.Config{
		InsecureSkipVerify: true, // the chain and name are replaced by the pin below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], pinned) {
				return fmt.Errorf("the local server's certificate is not the one in %s", certFile)
			}
			return nil
		},
	}), nil
}
