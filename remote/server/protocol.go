package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/transfer"
	"github.com/folio-db/folio/remote/wire"
)

// replicated says which refs leaders exchange: branches and tags, never
// working sets or remote-tracking refs.
func replicated(name string) bool {
	return strings.HasPrefix(name, objects.BranchPrefix) || strings.HasPrefix(name, objects.TagPrefix)
}

func (s *Server) listRefs(q *request, prefixes []string) (*wire.RefsResponse, error) {
	head, err := q.repo.HeadRef()
	if err != nil {
		return nil, err
	}
	out := &wire.RefsResponse{Head: head, Refs: []objects.Ref{}}
	for _, p := range prefixes {
		refs, err := q.repo.Store().Refs(q.Context(), p)
		if err != nil {
			return nil, err
		}
		out.Refs = append(out.Refs, refs...)
	}
	return out, nil
}

var defaultPrefixes = []string{objects.BranchPrefix, objects.TagPrefix}

func (s *Server) refs(q *request) error {
	out, err := s.listRefs(q, defaultPrefixes)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

func readJSON(r io.Reader, v any) error {
	if err := json.NewDecoder(io.LimitReader(r, wire.MaxFrame)).Decode(v); err != nil {
		return badRequest(fmt.Sprintf("request body: %v", err))
	}
	return nil
}

// fetch answers with the refs and a pack of what the client lacks.
func (s *Server) fetch(q *request) error {
	var req wire.FetchRequest
	if err := readJSON(q.Body, &req); err != nil {
		return err
	}
	prefixes := req.Prefixes
	if len(prefixes) == 0 {
		prefixes = defaultPrefixes
	}
	for _, p := range prefixes {
		if !replicated(p) {
			return badRequest(fmt.Sprintf("cannot fetch %q: only refs/heads/ and refs/tags/", p))
		}
	}
	refs, err := s.listRefs(q, prefixes)
	if err != nil {
		return err
	}
	wants := make([]objects.ID, 0, len(refs.Refs))
	for _, r := range refs.Refs {
		wants = append(wants, r.ID)
	}
	q.w.Header().Set("Content-Type", wire.ContentFramed)
	q.w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(stallGuard(q.w), 64<<10)
	err = wire.WriteFrame(bw, wire.FetchResponse{Head: refs.Head, Refs: refs.Refs})
	if err == nil {
		pw := wire.NewPackWriter(bw, wire.WriterOptions{})
		if _, err = transfer.Send(q.Context(), q.repo.Store(), pw, wants, req.Haves); err == nil {
			err = pw.Close()
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		// The status is sent: cut the connection, so the client's reader
		// reports the pack as truncated instead of trusting it.
		s.log.Warn("fetch cut short", "repo", q.repo.Name, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// push stores a pack and moves the refs of the request, all or none.
func (s *Server) push(q *request) error {
	ctx := q.Context()
	body := bufio.NewReaderSize(http.MaxBytesReader(q.w, stallGuardBody(q.w, q.Body), s.opts.Limits.MaxPushBytes), 64<<10)
	var req wire.PushRequest
	if err := wire.ReadFrame(body, &req); err != nil {
		return err
	}
	updates := make([]objects.RefUpdate, 0, len(req.Updates))
	for _, u := range req.Updates {
		if !replicated(u.Name) {
			return badRequest(fmt.Sprintf("cannot push %q: only branches and tags", u.Name))
		}
		updates = append(updates, objects.RefUpdate{Name: u.Name, Old: u.Old, New: u.New})
	}
	if err := objects.CheckRefUpdates(updates); err != nil {
		return err
	}
	limits := wire.Limits{MaxObjectSize: s.opts.Limits.MaxObjectSize}
	// The pack waits in a quarantine: nothing of it is visible until the
	// refs it came for move, and a refused or cut push leaves nothing.
	qr, err := q.repo.Store().Quarantine(ctx)
	if err != nil {
		return err
	}
	defer qr.Discard()
	got, err := transfer.Receive(ctx, qr, wire.NewPackReader(body, limits))
	if err != nil {
		return err
	}
	targets := make([]objects.ID, len(updates))
	for i, u := range updates {
		targets[i] = u.New
	}
	keep, err := transfer.Admit(ctx, qr, q.repo.Store(), got, targets...)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	q.repo.writeMu.Lock()
	defer q.repo.writeMu.Unlock()
	commits := transfer.Commits(qr)
	for _, u := range updates {
		if err := s.checkUpdate(q, commits, u, req.Force); err != nil {
			return err
		}
	}
	if err := qr.Promote(ctx, keep, updates...); err != nil {
		return fmt.Errorf("%w (someone pushed first: fetch, merge and push again)", err)
	}
	writeJSON(q.w, http.StatusOK, wire.PushResponse{Updated: req.Updates, Objects: got.Objects})
	return nil
}

// checkUpdate refuses, unless forced, an update that would drop commits
// or move a tag. commits reads the push's quarantine.
func (s *Server) checkUpdate(q *request, commits merge.CommitReader, u objects.RefUpdate, force bool) error {
	ctx := q.Context()
	if u.New.IsZero() && !u.Old.IsZero() {
		if head, err := q.repo.HeadRef(); err == nil && head == u.Name {
			return badRequest(fmt.Sprintf("cannot delete %s: it is the branch the server's repository is on", u.Name))
		}
		if !force {
			return fmt.Errorf("%w: deleting %s needs force (with the value you expect to delete)", wire.ErrNonFastForward, u.Name)
		}
		return nil
	}
	if force || u.Old.IsZero() {
		return nil
	}
	if strings.HasPrefix(u.Name, objects.TagPrefix) {
		return fmt.Errorf("%w: tag %s exists; tags move only when forced", wire.ErrNonFastForward, u.Name)
	}
	ok, err := merge.IsAncestor(ctx, commits, u.Old, u.New)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s would lose commits (fetch and merge first, or force with the value you replace)", wire.ErrNonFastForward, u.Name)
	}
	return nil
}

// sync runs the server's own sync with its remotes.
func (s *Server) sync(q *request) error {
	if s.opts.Sync == nil {
		return badRequest("this server does not sync")
	}
	var req wire.SyncRequest
	if err := readJSON(q.Body, &req); err != nil {
		return err
	}
	report, err := s.opts.Sync(q.Context(), q.repo.Repo, &q.repo.writeMu, req)
	if err != nil && report == nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, report)
	return nil
}

// stallTimeout is how long a transfer may make no progress: a client that
// stops reading a fetch, or stops sending a push, loses the connection
// instead of holding a goroutine and its buffers forever. Transfers that
// move keep going however long they take.
const stallTimeout = 2 * time.Minute

// stallGuard extends the connection's write deadline before every write.
func stallGuard(w http.ResponseWriter) io.Writer {
	return &deadlineWriter{w: w, rc: http.NewResponseController(w)}
}

type deadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.rc.SetWriteDeadline(time.Now().Add(stallTimeout))
	return d.w.Write(p)
}

// stallGuardBody extends the connection's read deadline before every read
// of a request body.
func stallGuardBody(w http.ResponseWriter, body io.ReadCloser) io.ReadCloser {
	return &deadlineReader{ReadCloser: body, rc: http.NewResponseController(w)}
}

type deadlineReader struct {
	io.ReadCloser
	rc *http.ResponseController
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.rc.SetReadDeadline(time.Now().Add(stallTimeout))
	return d.ReadCloser.Read(p)
}
