package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
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
		_, err := transfer.Send(q.Context(), q.repo.Store(), pw, wants, req.Haves)
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
		if updates, err = s.converge(q, qr, keep, updates); err != nil {
			return err
		}
	} else if err := s.promote(q, qr, keep, updates); err != nil {
		return fmt.Errorf("%w (someone pushed first: fetch, merge and push again)", err)
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

// promote moves a push's objects and refs under writeMu.
func (s *Server) promote(q *request, qr objects.Quarantine, keep func(objects.ID) bool, updates []objects.RefUpdate) error {
	q.repo.writeMu.Lock()
	defer q.repo.writeMu.Unlock()
	return qr.Promote(q.Context(), keep, updates...)
}

// converge applies the updates of a converging push: a branch that moved
// on from the update's Old is merged with the update's New (merge.Converge,
// as every leader merges) instead of refused, when mergeable says so, so
// that a push from a peer lands on a leader that keeps taking writes or
// merging other peers' (see mergeable for why not always). It returns the
// updates made.
//
// The merges are made before writeMu is taken, as the document writes
// wait on it; under it, a branch that writes moved meanwhile is merged
// again with the merge made, a merge with one base.
func (s *Server) converge(q *request, qr objects.Quarantine, keep func(objects.ID) bool, updates []objects.RefUpdate) ([]objects.RefUpdate, error) {
	ctx := q.Context()
	r := q.repo.Repo
	// The objects first, then the merges that read them; the refs move
	// once all are made. Until then no ref names the pushed objects, as
	// those of a push whose ref update failed.
	promoted := false
	promote := func() error {
		if promoted {
			return nil
		}
		promoted = true
		return qr.Promote(ctx, keep)
	}
	if err := mergeMoved(ctx, r, qr, updates, promote); err != nil {
		return nil, err
	}
	q.repo.writeMu.Lock()
	defer q.repo.writeMu.Unlock()
	if err := mergeMoved(ctx, r, nil, updates, promote); err != nil {
		return nil, err
	}
	moves := slices.DeleteFunc(slices.Clone(updates), func(u objects.RefUpdate) bool { return u.Old == u.New })
	if !promoted {
		return updates, qr.Promote(ctx, keep, moves...)
	}
	return updates, r.Store().UpdateRefs(ctx, moves...)
}

// mergeMoved merges, into each branch update whose branch moved on from
// its Old as mergeable allows, the branch as it is now, and makes that the
// update's Old; pushed reads the push's objects (nil: merge only what
// document writes moved), and promote is called before the first merge
// (which reads them from the store). An update whose New the branch holds
// already (a peer pushing the merge this leader made too) is done: its Old
// and New become the branch as it is. A branch moved otherwise is left
// for the ref's compare-and-swap to refuse.
func mergeMoved(ctx context.Context, r *repo.Repo, pushed objects.ObjectReader, updates []objects.RefUpdate, promote func() error) error {
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
		held, err := holds(ctx, r, cur, u.New)
		if err != nil {
			return err
		}
		if held {
			updates[i].Old, updates[i].New = cur, cur
			continue
		}
		ok, err := mergeable(ctx, r, pushed, u.Old, cur, u.New)
		if err != nil {
			return err // a damaged history: say so, not "ref changed"
		}
		if !ok {
			continue // the compare-and-swap refuses it: the pusher fetches and merges again
		}
		if err := promote(); err != nil {
			return err
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

// holds reports whether the history of head holds commit id.
func holds(ctx context.Context, r *repo.Repo, head, id objects.ID) (bool, error) {
	if head == id {
		return true, nil
	}
	if ok, err := r.Store().Has(ctx, id); err != nil || !ok {
		return false, err // not stored: not in any history here
	}
	return merge.IsAncestor(ctx, r, id, head)
}

// mergeable reports whether a converging push of head new, made when the
// branch was at old, is merged into the branch now at cur rather than
// refused. cur must descend from old, and either be a plain commit (one
// parent, as document writes make), or the push must bring a write the
// branch lacks: a commit not in cur that is no merge (pushed reads the
// push's objects; nil: plain commits only). Merging a push that brings
// only merges makes heads that hold nothing new, and leaders peered
// all-to-all would go on making them from each other's once writes stop;
// a merge that brings a write holds one more of the writes, which are
// finitely many once writes stop, so such merges stop with them.
func mergeable(ctx context.Context, r merge.CommitReader, pushed objects.ObjectReader, old, cur, new objects.ID) (bool, error) {
	c, err := r.ReadCommit(ctx, cur)
	if err != nil {
		return false, err
	}
	if len(c.Parents) != 1 {
		if pushed == nil {
			return false, nil
		}
		if ok, err := bringsWrite(ctx, pushed, new, cur); err != nil || !ok {
			return false, err
		}
	}
	return merge.IsAncestor(ctx, r, old, cur)
}

// bringsWrite reports whether new reaches a commit that cur does not and
// that is no merge.
func bringsWrite(ctx context.Context, pushed objects.ObjectReader, new, cur objects.ID) (bool, error) {
	missing, err := transfer.MissingCommits(ctx, pushed, []objects.ID{new}, []objects.ID{cur})
	if err != nil {
		return false, err
	}
	commits := transfer.Commits(pushed)
	for _, id := range missing {
		c, err := commits.ReadCommit(ctx, id)
		if err != nil {
			return false, err
		}
		if len(c.Parents) < 2 {
			return true, nil
		}
	}
	return false, nil
}
