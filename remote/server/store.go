package server

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/transfer"
	"github.com/folio-db/folio/remote/wire"
)

// The store API (wire.PathStore*) lets the CLI of a served repository use
// the store this server holds: every command then runs its own code on an
// HTTP store (remote/client.Store) instead of a second copy of it here.
// It needs ScopeAdmin: folio serve's own token in serve.json, or, without
// tokens, a request from this machine.
//
// Reads answer what the store holds, many objects per request where the
// CLI asks about many (types), and a push from the CLI has its pack made
// here (send), where the objects are. Writes come as one apply: a pack and
// the ref updates it is for, received into a quarantine with the checks
// of a push (hash, type and references of each object; the maps and
// records the refs reach; commit times), then promoted with the updates
// by compare-and-swap under the lock the document API's writes take. So a
// CLI write and a document write never lose each other: the later one
// finds its ref moved (objects.ErrRefChanged) and the CLI says so, as it
// does when two processes race on an unserved repository. The updates go
// through the store's own UpdateRefs path, so the change feed and the
// peers see them. A damaged ref, which no update can read, is listed and
// dropped by requests of its own, the drop under the same lock. Store-wide
// work (gc, fsck, stats) runs here, on this server's repository, with the
// same code as unserved.

// storeRoutes are the store API's routes, for New.
func (s *Server) storeRoutes() []route {
	request, long := s.opts.Limits.RequestTimeout, s.opts.Limits.TransferTimeout
	return []route{
		{"GET /" + wire.PathStoreRef, ScopeAdmin, request, s.storeRef},
		{"GET /" + wire.PathStoreRefs, ScopeAdmin, request, s.storeRefs},
		{"GET /" + wire.PathStoreCheckedRefs, ScopeAdmin, request, s.storeCheckedRefs},
		{"POST /" + wire.PathStoreDropDamagedRef, ScopeAdmin, request, s.storeDropDamagedRef},
		{"GET /" + wire.PathStoreObject + "/{id}", ScopeAdmin, request, s.storeObject},
		{"POST /" + wire.PathStoreHas, ScopeAdmin, request, s.storeHas},
		{"POST /" + wire.PathStoreTypes, ScopeAdmin, request, s.storeTypes},
		{"GET /" + wire.PathStoreObjects, ScopeAdmin, long, s.storeObjects},
		{"POST /" + wire.PathStoreSend, ScopeAdmin, long, s.storeSend},
		{"POST /" + wire.PathStoreApply, ScopeAdmin, long, s.storeApply},
		{"POST /" + wire.PathStoreGC, ScopeAdmin, long, s.storeGC},
		{"POST /" + wire.PathStoreFsck, ScopeAdmin, long, s.storeFsck},
		{"GET /" + wire.PathStoreStats, ScopeAdmin, long, s.storeStats},
	}
}

// answer sends v as JSON, unless err says why there is none.
func answer(q *request, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, v)
	return nil
}

func (s *Server) storeRef(q *request) error {
	id, err := q.repo.Store().Ref(q.Context(), q.URL.Query().Get("name"))
	return answer(q, wire.StoreRef{ID: id}, err)
}

func (s *Server) storeRefs(q *request) error {
	refs, err := q.repo.Store().Refs(q.Context(), q.URL.Query().Get("prefix"))
	return answer(q, append([]objects.Ref{}, refs...), err)
}

// storeCheckedRefs lists the refs, and apart the damaged ones, on which
// storeRefs fails (fsck --repair lists them to drop them).
func (s *Server) storeCheckedRefs(q *request) error {
	refs, damaged, err := q.repo.CheckedRefs(q.Context(), q.URL.Query().Get("prefix"))
	if err != nil {
		return err
	}
	out := wire.StoreCheckedRefs{Refs: append([]objects.Ref{}, refs...), Damaged: make([]wire.StoreDamagedRef, len(damaged))}
	for i, d := range damaged {
		out.Damaged[i] = wire.DamagedRefOf(d)
	}
	return answer(q, out, nil)
}

// storeDropDamagedRef deletes a damaged ref (branch -D, tag -d, branch -f
// and fsck --repair of one), under the lock the server's other ref writes
// take. A ref that passes its check, or none, is refused and nothing
// changes. The name is not held to the ref name rules: a damaged one may
// break them, and only a stored ref that fails its check is deleted.
func (s *Server) storeDropDamagedRef(q *request) error {
	var req wire.StoreDropDamagedRef
	if err := readJSON(q, &req); err != nil {
		return err
	}
	if len(req.Name) == 0 {
		return badRequest("drop damaged ref: no ref name given")
	}
	q.repo.writeMu.Lock()
	defer q.repo.writeMu.Unlock()
	d, err := q.repo.DropDamagedRef(q.Context(), string(req.Name))
	return answer(q, wire.DamagedRefOf(d), err)
}

// storeObject sends one object's bytes, which the store checked against
// their ID (a damaged copy is an error, never the bytes).
func (s *Server) storeObject(q *request) error {
	id, err := objects.ParseID(q.PathValue("id"))
	if err != nil {
		return err
	}
	data, err := q.repo.Store().Get(q.Context(), id)
	if err != nil {
		return err
	}
	q.w.Header().Set("Content-Type", "application/octet-stream")
	q.w.Write(data)
	return nil
}

func (s *Server) storeHas(q *request) error {
	var req wire.StoreIDs
	if err := readJSON(q, &req); err != nil {
		return err
	}
	if err := checkIDCount(req.IDs); err != nil {
		return err
	}
	out := wire.StoreHas{Has: make([]bool, len(req.IDs))}
	for i, id := range req.IDs {
		var err error
		if out.Has[i], err = q.repo.Store().Has(q.Context(), id); err != nil {
			return err
		}
	}
	return answer(q, out, nil)
}

// storeTypes answers the type of each object asked (0: not stored), so
// the CLI checks the references of a pack it receives in a few requests,
// not one per object.
func (s *Server) storeTypes(q *request) error {
	var req wire.StoreIDs
	if err := readJSON(q, &req); err != nil {
		return err
	}
	if err := checkIDCount(req.IDs); err != nil {
		return err
	}
	out := wire.StoreTypes{Types: make([]objects.Type, len(req.IDs))}
	for i, id := range req.IDs {
		data, err := q.repo.Store().Get(q.Context(), id)
		if errors.Is(err, objects.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if out.Types[i], err = objects.TypeOf(data); err != nil {
			return err
		}
	}
	return answer(q, out, nil)
}

// storeObjects streams every object whose ID starts with the prefix, as
// stored: the client's pack reader verifies each.
func (s *Server) storeObjects(q *request) error {
	prefix, err := hex.DecodeString(q.URL.Query().Get("prefix"))
	if err != nil || len(prefix) > objects.IDSize {
		return badRequest(fmt.Sprintf("prefix %q: want up to %d bytes in hex", q.URL.Query().Get("prefix"), objects.IDSize))
	}
	return s.sendPack(q, "store objects", func(_ io.Writer, pw *wire.PackWriter) error {
		return q.repo.Store().Objects(q.Context(), prefix, func(id objects.ID, data []byte) error {
			return pw.Write(objects.Object{ID: id, Data: data})
		})
	})
}

// storeSend makes the pack a push from the CLI sends, here, where the
// objects are: the CLI relays it instead of reading each object it sends
// (or the whole store) through this API.
func (s *Server) storeSend(q *request) error {
	var req wire.StoreSend
	if err := readJSON(q, &req); err != nil {
		return err
	}
	if err := checkIDCount(req.Wants); err != nil {
		return err
	}
	if err := checkIDCount(req.Haves); err != nil {
		return err
	}
	// A want not stored is an error the reply can still carry.
	for _, id := range req.Wants {
		if ok, err := q.repo.Store().Has(q.Context(), id); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: commit %s", objects.ErrNotFound, id.Short())
		}
	}
	return s.sendPack(q, "store send", func(_ io.Writer, pw *wire.PackWriter) error {
		_, err := transfer.SendWithNodes(q.Context(), q.repo.Store(), q.repo.Tree(), pw, req.Wants, req.Haves)
		return err
	})
}

// storeApply receives a pack into a quarantine and promotes it with the
// request's ref updates: all or nothing.
func (s *Server) storeApply(q *request) error {
	ctx := q.Context()
	body := bufio.NewReaderSize(http.MaxBytesReader(q.w, q.Body, s.opts.Limits.MaxPushBytes), 64<<10)
	var req wire.StoreApply
	if err := wire.ReadFrame(body, &req); err != nil {
		return err
	}
	updates, err := refUpdates(req.Updates, func(string) error { return nil })
	if err != nil {
		return err
	}
	// The maps and records the refs reach get the checks of a push. The
	// objects they do not reach are kept too, as a local Put keeps them
	// (the CLI may name them in its next apply): each passed Receive's
	// checks, and gc collects them if nothing comes to use them.
	qr, got, _, err := s.receiveChecked(q, body, true, updates)
	if err != nil {
		return err
	}
	defer qr.Discard()
	q.repo.writeMu.Lock()
	defer q.repo.writeMu.Unlock()
	if err := qr.Promote(ctx, func(objects.ID) bool { return true }, updates...); err != nil {
		return err
	}
	return answer(q, wire.StoreApplied{Objects: got.Objects}, nil)
}

// storeGC runs this repository's gc, streaming the objects it finds when
// asked, then its report. Requests go on meanwhile, so it is never
// exclusive, and its grace period is at least as long as a write in this
// server may take (TransferTimeout): a document write stores its document
// before it commits it, and a gc --prune=now between the two would delete
// it from under the commit (a dry run deletes nothing: any grace).
func (s *Server) storeGC(q *request) error {
	var req wire.StoreGC
	if err := readJSON(q, &req); err != nil {
		return err
	}
	if least := s.opts.Limits.TransferTimeout; !req.DryRun && req.Grace < least {
		return badRequest(fmt.Sprintf("gc --prune shorter than %s could delete what a write in flight in folio serve needs: "+
			"use --prune=%s or more, or stop the server first", least, least))
	}
	q.w.Header().Set("Content-Type", "application/jsonl")
	q.w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(q.w, 64<<10)
	enc := json.NewEncoder(bw)
	var werr error
	opts := repo.GCOptions{Grace: req.Grace, DryRun: req.DryRun}
	if req.Found {
		opts.Found = func(id objects.ID, size int64) {
			if werr == nil {
				werr = enc.Encode(wire.StoreGCLine{Found: &wire.StoreFound{ID: id, Size: size}})
			}
		}
	}
	rep, err := q.repo.GC(q.Context(), opts)
	last := wire.StoreGCLine{}
	if err != nil {
		last.Error = &wire.Error{Code: code(err), Message: wire.UserMessage(err)}
	} else if last.Report, err = json.Marshal(rep); err != nil {
		return err
	}
	if werr == nil {
		werr = enc.Encode(last)
	}
	if werr == nil {
		werr = bw.Flush()
	}
	if werr != nil {
		s.log.Warn("gc reply cut short", "repo", q.repo.Name, "err", werr)
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (s *Server) storeFsck(q *request) error {
	rep, err := q.repo.Fsck(q.Context())
	return answer(q, rep, err)
}

func (s *Server) storeStats(q *request) error {
	st, err := q.repo.Stats(q.Context())
	return answer(q, st, err)
}
