package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

// branchRef is the branch a document request names (?branch=), or the
// repository's current branch.
func branchRef(q *request) (string, error) {
	b := q.URL.Query().Get("branch")
	if b == "" {
		return q.repo.HeadRef()
	}
	if err := objects.ValidateBranchName(b); err != nil {
		return "", err
	}
	return objects.BranchPrefix + b, nil
}

// snapshot returns a branch's head commit and its maps.
func snapshot(q *request) (head objects.ID, c *objects.Commit, err error) {
	ref, err := branchRef(q)
	if err != nil {
		return head, nil, err
	}
	head, err = q.repo.Store().Ref(q.Context(), ref)
	if err != nil {
		return head, nil, fmt.Errorf("branch %s: %w", strings.TrimPrefix(ref, objects.BranchPrefix), err)
	}
	c, err = readHeadCommit(q, head)
	return head, c, err
}

// headCommit is a branch head's commit as a read decoded it. A commit
// never changes, so reads that find the same head use it again instead
// of reading and decoding the commit each time; one is kept, as reads
// mostly name the current branch.
type headCommit struct {
	id objects.ID
	c  *objects.Commit
}

func readHeadCommit(q *request, head objects.ID) (*objects.Commit, error) {
	if last := q.repo.lastHead.Load(); last != nil && last.id == head {
		return last.c, nil
	}
	c, err := q.repo.ReadCommit(q.Context(), head)
	if err == nil {
		q.repo.lastHead.Store(&headCommit{head, c})
	}
	return c, err
}

func etag(id objects.ID) string { return `"` + id.String() + `"` }

// matches reports whether an If-Match (strong comparison) or If-None-Match
// (weak comparison) header names id, as RFC 9110 says.
func matches(header string, id objects.ID, weak bool) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if weak {
			part = strings.TrimPrefix(part, "W/")
		}
		if part == "*" && !id.IsZero() || part == etag(id) {
			return true
		}
	}
	return false
}

func contentType(k objects.Kind) string {
	switch k {
	case objects.KindJSON:
		return "application/json"
	case objects.KindText:
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// getDoc answers with a document. A damaged object on the way (an index
// node, the document) is a 500 with code "damaged" naming the key; a
// document small enough to hold is read whole before the status is sent,
// and a larger one that turns out damaged past its first chunk cuts the
// connection: never wrong bytes with a 200.
func (s *Server) getDoc(q *request) error {
	key := q.PathValue("key")
	err := s.sendDoc(q, key)
	return repo.DocumentError(key, err)
}

func (s *Server) sendDoc(q *request, key string) error {
	head, c, err := snapshot(q)
	if err != nil {
		return err
	}
	e, err := q.repo.Lookup(q.Context(), c.Index, key)
	if err != nil {
		return err
	}
	h := q.w.Header()
	h.Set("ETag", etag(e.ID))
	h.Set("X-Folio-Commit", head.String())
	h.Set("X-Folio-Kind", e.Kind.String())
	if _, conflicted, err := q.repo.Tree().Get(q.Context(), c.Conflicts, key); err != nil {
		return err
	} else if conflicted {
		h.Set("X-Folio-Conflict", "true")
	}
	if inm := q.Header.Get("If-None-Match"); inm != "" && matches(inm, e.ID, true) {
		q.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	var content []byte
	if q.Method != http.MethodHead && e.Size <= repo.SingleBlobMax {
		if content, err = q.repo.ReadDocument(q.Context(), e); err != nil {
			return err
		}
	}
	h.Set("Content-Type", contentType(e.Kind))
	h.Set("Content-Length", strconv.FormatUint(e.Size, 10))
	q.w.WriteHeader(http.StatusOK)
	if q.Method == http.MethodHead {
		return nil
	}
	if content != nil {
		_, err := q.w.Write(content)
		return err
	}
	bw := bufio.NewWriterSize(q.w, 64<<10)
	if err := q.repo.CopyDocument(q.Context(), bw, e); err != nil {
		s.log.Warn("document read cut short", "key", key, "err", err)
		panic(http.ErrAbortHandler)
	}
	return bw.Flush()
}

// docWriteResult is the reply to a document write.
type docWriteResult struct {
	Commit objects.ID  `json:"commit"`
	ID     *objects.ID `json:"id,omitempty"`
}

func (s *Server) putDoc(q *request) error {
	key := q.PathValue("key")
	if err := objects.ValidateNewKey(key); err != nil {
		return err
	}
	leave := q.repo.docs.arrive()
	defer leave()
	limit := s.opts.Limits.MaxDocumentSize
	if q.ContentLength > limit {
		return &http.MaxBytesError{Limit: limit} // refused unread
	}
	body := http.MaxBytesReader(q.w, q.Body, limit)
	// A small document is stored with its commit, a large one now.
	entry, blobs, err := q.repo.ReceiveUpload(q.Context(), body, q.ContentLength)
	if err != nil {
		return err
	}
	w, err := s.writeDoc(q, key, repo.Edit{Key: key, Entry: entry}, blobs, leave)
	if err != nil {
		return err
	}
	q.w.Header().Set("ETag", etag(entry.ID))
	st := http.StatusOK
	if w.created {
		st = http.StatusCreated
	}
	writeJSON(q.w, st, docWriteResult{Commit: w.commit, ID: &entry.ID})
	return nil
}

func (s *Server) deleteDoc(q *request) error {
	key := q.PathValue("key")
	if err := objects.ValidateKey(key); err != nil {
		return err
	}
	leave := q.repo.docs.arrive()
	defer leave()
	w, err := s.writeDoc(q, key, repo.Edit{Key: key, Delete: true}, nil, leave)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, docWriteResult{Commit: w.commit})
	return nil
}

// writeDoc commits one document edit on the request's branch, honouring
// If-Match and If-None-Match against the document's current version, in
// the repository's next group commit (docQueue). leave ends the write's
// arrival (docQueue.arrive) once it is queued.
func (s *Server) writeDoc(q *request, key string, edit repo.Edit, blobs []objects.Object, leave func()) (*docWrite, error) {
	ref, err := branchRef(q)
	if err != nil {
		return nil, err
	}
	opts := repo.CommitOptions{Author: s.author(q), Committer: repo.TokenCommitter(q.token),
		Time: s.opts.Now(), Message: q.Header.Get("X-Folio-Message")}
	if opts.Message == "" {
		verb := "put"
		if edit.Delete {
			verb = "delete"
		}
		opts.Message = verb + " " + key
	}
	w := &docWrite{ctx: q.Context(), ref: ref, done: make(chan struct{})}
	w.ChainWrite = repo.ChainWrite{Edits: []repo.Edit{edit}, Blobs: blobs, Options: opts,
		Check: func(ctx context.Context, tree *prolly.Tree, index objects.ID) error {
			current, found, err := tree.Get(ctx, index, key)
			if err != nil {
				return err
			}
			w.created = !found
			return checkPreconditions(q, current.ID, edit.Delete)
		}}
	s.enqueue(q.repo, w)
	leave()
	<-w.done
	return w, w.err
}

func checkPreconditions(q *request, current objects.ID, deleting bool) error {
	if im := q.Header.Get("If-Match"); im != "" && !matches(im, current, false) {
		return fmt.Errorf("%w: the document is at %s, not %s", wire.ErrPrecondition, describeVersion(current), im)
	}
	if inm := q.Header.Get("If-None-Match"); inm != "" && matches(inm, current, true) {
		return fmt.Errorf("%w: the document exists (%s)", wire.ErrPrecondition, describeVersion(current))
	}
	if deleting && current.IsZero() {
		return fmt.Errorf("%w: %s", repo.ErrNoSuchKey, q.PathValue("key"))
	}
	return nil
}

func describeVersion(id objects.ID) string {
	if id.IsZero() {
		return "absent"
	}
	return etag(id)
}

// author is who a document write is by: the X-Folio-Author header
// ("Name <email>"), else the token's name.
func (s *Server) author(q *request) objects.Signature {
	if h := q.Header.Get("X-Folio-Author"); h != "" {
		if a, err := mail.ParseAddress(h); err == nil {
			return objects.Signature{Name: a.Name, Email: a.Address}
		}
	}
	name := q.token
	if name == "" {
		name = "folio api"
	}
	return objects.Signature{Name: name, Email: "api@folio.invalid"}
}

// docListing is one page of a listing.
type docListing struct {
	Commit objects.ID `json:"commit"`
	Docs   []docInfo  `json:"docs"`
	Next   string     `json:"next,omitempty"` // pass as ?after= for the next page
}

type docInfo struct {
	Key  string       `json:"key"`
	ID   objects.ID   `json:"id"`
	Kind objects.Kind `json:"kind"`
	Size uint64       `json:"size"`
}

const (
	defaultPage = 1000
	maxPage     = 10000
)

func (s *Server) listDocs(q *request) error {
	head, c, err := snapshot(q)
	if err != nil {
		return err
	}
	query := q.URL.Query()
	limit, err := intParam(query.Get("limit"), defaultPage, maxPage)
	if err != nil {
		return err
	}
	prefix := query.Get("prefix")
	if err := objects.ValidatePrefix(prefix); err != nil {
		return err
	}
	out := docListing{Commit: head, Docs: []docInfo{}}
	err = q.repo.Tree().Iterate(q.Context(), c.Index, prefix, query.Get("after"), func(key string, e objects.Entry) error {
		if len(out.Docs) == limit {
			out.Next = out.Docs[len(out.Docs)-1].Key
			return errStopListing
		}
		out.Docs = append(out.Docs, docInfo{Key: key, ID: e.ID, Kind: e.Kind, Size: e.Size})
		return nil
	})
	if err != nil && !errors.Is(err, errStopListing) {
		return err
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

var errStopListing = errors.New("page full")

func intParam(v string, def, limit int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > limit {
		return 0, badRequest(fmt.Sprintf("%q: want a number from 1 to %d", v, limit))
	}
	return n, nil
}

// log_ lists the commits of a branch, newest first.
func (s *Server) log_(q *request) error {
	head, _, err := snapshot(q)
	if err != nil {
		return err
	}
	n, err := intParam(q.URL.Query().Get("n"), 50, 1000)
	if err != nil {
		return err
	}
	out := []repo.CommitInfo{}
	err = q.repo.Walk(q.Context(), []objects.ID{head}, func(id objects.ID, c *objects.Commit) error {
		if len(out) == n {
			return repo.ErrStop
		}
		out = append(out, repo.Info(id, c))
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}
