package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
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

// readJSON reads a JSON control message, checked against its checksum
// when the client sent one (folio's client does; curl need not).
func readJSON(q *request, v any) error {
	data, err := io.ReadAll(io.LimitReader(q.Body, wire.MaxFrame+1))
	if err != nil {
		return err
	}
	if len(data) > wire.MaxFrame {
		return fmt.Errorf("%w: a request body over %d bytes", objects.ErrTooLarge, wire.MaxFrame)
	}
	if sum := q.Header.Get(wire.ChecksumHeader); sum != "" {
		if err := wire.CheckBody(data, sum); err != nil {
			return err
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return badRequest(fmt.Sprintf("request body: %v", err))
	}
	return nil
}

// fetch answers with the refs and a pack of what the client lacks.
func (s *Server) fetch(q *request) error {
	var req wire.FetchRequest
	if err := readJSON(q, &req); err != nil {
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
	head := wire.FetchResponse{Head: refs.Head, Refs: refs.Refs}
	return s.sendPack(q, "fetch", func(bw io.Writer, pw *wire.PackWriter) error {
		if err := wire.WriteFrame(bw, head); err != nil {
			return err
		}
		_, err := transfer.SendWithNodes(q.Context(), q.repo.Store(), q.repo.Tree(), pw, wants, req.Haves)
		return err
	})
}

// sendPack answers 200 and streams what send writes: first to bw (a
// frame), then a pack to pw. A failure once the status is sent cuts the
// connection, so the client's reader reports the pack as truncated
// instead of trusting it.
func (s *Server) sendPack(q *request, what string, send func(bw io.Writer, pw *wire.PackWriter) error) error {
	q.w.Header().Set("Content-Type", wire.ContentFramed)
	q.w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(q.w, 64<<10)
	pw := wire.NewPackWriter(bw, wire.WriterOptions{})
	err := send(bw, pw)
	if err == nil {
		err = pw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		s.log.Warn(what+" cut short", "repo", q.repo.Name, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// push stores a pack and moves the refs of the request, all or none.
func (s *Server) push(q *request) error {
	body := bufio.NewReaderSize(http.MaxBytesReader(q.w, q.Body, s.opts.Limits.MaxPushBytes), 64<<10)
	var req wire.PushRequest
	if err := wire.ReadFrame(body, &req); err != nil {
		return err
	}
	updates, err := refUpdates(req.Updates, func(name string) error {
		if !replicated(name) {
			return badRequest(fmt.Sprintf("cannot push %q: only branches and tags", name))
		}
		return nil
	})
	if err != nil {
		return err
	}
	qr, got, keep, err := s.receiveChecked(q, body, false, updates)
	if err != nil {
		return err
	}
	defer qr.Discard()
	commits := transfer.Commits(qr)
	for _, u := range updates {
		if err := s.checkUpdate(q, commits, u, req.Force); err != nil {
			return err
		}
	}
	if req.Converge {
		if updates, err = s.converge(q, qr, got, keep, updates); err != nil {
			return err
		}
	} else if err := s.promoteLocked(q, qr, keep, updates); err != nil {
		return fmt.Errorf("%w (someone pushed first: fetch, merge and push again)", err)
	} else {
		got.KeepNodes(q.repo.Tree(), keep)
	}
	out := make([]wire.RefUpdate, len(updates))
	for i, u := range updates {
		out[i] = wire.RefUpdate{Name: u.Name, Old: u.Old, New: u.New}
	}
	writeJSON(q.w, http.StatusOK, wire.PushResponse{Updated: out, Objects: got.Objects})
	return nil
}

// receiveChecked receives a pack into a quarantine of the request's
// repository and checks it for updates: each object as Receive does (with
// working sets when staged, as the store API sends them), what the updates
// reach as AdmitRefs does, and the commit times. Nothing of it is visible
// until the caller promotes it; a refused or cut transfer leaves nothing.
// The caller discards the quarantine.
func (s *Server) receiveChecked(q *request, body io.Reader, staged bool, updates []objects.RefUpdate) (
	objects.Quarantine, *transfer.Received, func(objects.ID) bool, error) {
	ctx := q.Context()
	qr, err := q.repo.Store().Quarantine(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	receive := transfer.Receive
	if staged {
		receive = transfer.ReceiveStaged
	}
	got, err := receive(ctx, qr, wire.NewPackReader(body, wire.Limits{MaxObjectSize: s.opts.Limits.MaxObjectSize}))
	if err == nil {
		var keep func(objects.ID) bool
		if keep, err = transfer.AdmitRefs(ctx, qr, q.repo.Store(), got, updates...); err == nil {
			if err = checkCommitTimes(ctx, transfer.Commits(qr), got.ArrivedCommits(), s.opts.Now(), s.opts.MaxClockSkew); err == nil {
				return qr, got, keep, nil
			}
		}
	}
	qr.Discard()
	return nil, nil, nil, err
}

// promoteLocked promotes the push's objects and moves its refs, holding
// writeMu.
func (s *Server) promoteLocked(q *request, qr objects.Quarantine, keep func(objects.ID) bool, updates []objects.RefUpdate) error {
	q.repo.writeMu.Lock()
	defer q.repo.writeMu.Unlock()
	return qr.Promote(q.Context(), keep, updates...)
}

// converge applies the updates of a converging push: a branch that moved
// on from the update's Old and was last moved by a write of its own is
// merged with the update's New (merge.Converge, as every leader merges)
// instead of refused, so that a push from a peer lands on a leader that
// keeps taking writes. A branch last moved by a merge is refused as
// before: merging merges again makes heads that hold nothing new, and
// leaders peered all-to-all would go on making them from each other's
// once writes stop. It returns the updates made.
//
// It merges without holding writeMu, which every document write takes: a
// merge takes tens of milliseconds on a leader under load, and the
// leader's writes all waited behind it. Then, holding writeMu, it merges
// again each branch that a write moved meanwhile: the branch as it is now
// with the head the first merge made, which merges in only the writes
// that came meanwhile. The refs move all at once, by compare-and-swap,
// under writeMu.
func (s *Server) converge(q *request, qr objects.Quarantine, got *transfer.Received, keep func(objects.ID) bool, updates []objects.RefUpdate) ([]objects.RefUpdate, error) {
	ctx := q.Context()
	// The objects first, then the merges that read them; the refs move
	// once all are made. Until then no ref names the pushed objects, as
	// those of a push whose ref update failed. They are stored before
	// writeMu is taken: storing them (hundreds, between leaders that keep
	// taking writes) held every document write back.
	if err := qr.Promote(ctx, keep); err != nil {
		return nil, err
	}
	got.KeepNodes(q.repo.Tree(), keep) // the merges read them
	if err := mergeMovedBranches(ctx, q.repo.Repo, updates); err != nil {
		return nil, err
	}
	q.repo.writeMu.Lock()
	defer q.repo.writeMu.Unlock()
	// What the merge under writeMu writes is stored with the refs' move,
	// in one synced write.
	buf, store := q.repo.Buffered()
	if err := mergeMovedBranches(ctx, buf, updates); err != nil {
		return nil, err
	}
	return updates, store(ctx, updates...)
}

// mergeMovedBranches merges, into each branch update whose branch writes
// moved on from its Old, the branch as it is now: the update then moves
// the branch from there to the merge. A branch moved otherwise is left
// for the ref update to refuse: the pusher fetches and merges again.
func mergeMovedBranches(ctx context.Context, r *repo.Repo, updates []objects.RefUpdate) error {
	for i, u := range updates {
		if !strings.HasPrefix(u.Name, objects.BranchPrefix) || u.Old.IsZero() || u.New.IsZero() {
			continue
		}
		cur, err := r.RefOrZero(ctx, u.Name)
		if err != nil {
			return err
		}
		if cur == u.Old || cur.IsZero() {
			continue
		}
		ok, err := movedByWrites(ctx, r, u.Old, cur)
		if err != nil {
			return err // a damaged history: say so, not "ref changed"
		}
		if !ok {
			continue
		}
		head, _, err := merge.Converge(ctx, r, cur, u.New)
		if err != nil {
			return fmt.Errorf("merging the push into %s: %w", u.Name, err)
		}
		updates[i].Old, updates[i].New = cur, head
	}
	return nil
}

// refUpdates are the updates of a request, each name allowed by allow and
// valid, none twice.
func refUpdates(in []wire.RefUpdate, allow func(name string) error) ([]objects.RefUpdate, error) {
	updates := make([]objects.RefUpdate, 0, len(in))
	for _, u := range in {
		if err := allow(u.Name); err != nil {
			return nil, err
		}
		updates = append(updates, objects.RefUpdate{Name: u.Name, Old: u.Old, New: u.New})
	}
	return updates, objects.CheckRefUpdates(updates)
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
	if err := readJSON(q, &req); err != nil {
		return err
	}
	report, err := s.opts.Sync(q.Context(), q.repo.Repo, &q.repo.writeMu, req)
	if err != nil && report == nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, report)
	return nil
}

// movedByWrites reports whether cur descends from old and is a plain
// commit (one parent, as document writes make), not a merge.
func movedByWrites(ctx context.Context, r merge.CommitReader, old, cur objects.ID) (bool, error) {
	c, err := r.ReadCommit(ctx, cur)
	if err != nil || len(c.Parents) != 1 {
		return false, err
	}
	return merge.IsAncestor(ctx, r, old, cur)
}
