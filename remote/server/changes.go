package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

// Waits of the change feed (GET /v1/changes). Every wait also ends with
// the request, which the route bounds by Limits.TransferTimeout.
const (
	// DefaultLongpollWait is how long feed=longpoll waits for a change
	// unless timeout= says otherwise; MaxLongpollWait bounds timeout=.
	DefaultLongpollWait = 30 * time.Second
	MaxLongpollWait     = 10 * time.Minute
	// DefaultHeartbeat is how often feed=continuous sends an empty line
	// while nothing happens, unless heartbeat= says otherwise.
	DefaultHeartbeat = 15 * time.Second
	// A continuous client that reads nothing for stallHeartbeats
	// heartbeats (and at least minStall) is cut off, so a stalled reader
	// holds no handler for longer than that.
	stallHeartbeats = 4
	minStall        = time.Second
)

// feedRequest is a parsed GET /v1/changes.
type feedRequest struct {
	query     repo.ChangesQuery
	now       bool // since=now
	feed      string
	wait      time.Duration // longpoll
	heartbeat time.Duration // continuous
}

func parseFeedRequest(q *request) (feedRequest, error) {
	v := q.URL.Query()
	f := feedRequest{feed: v.Get("feed"), wait: DefaultLongpollWait, heartbeat: DefaultHeartbeat}
	switch since := v.Get("since"); since {
	case "", "0":
	case "now":
		f.now = true
	default:
		n, err := strconv.ParseUint(since, 10, 64)
		if err != nil {
			return f, badRequest(fmt.Sprintf("since=%q: want a sequence number from an earlier answer, 0 for the start, or now", since))
		}
		f.query.Since = n
	}
	switch f.feed {
	case "":
		f.feed = wire.FeedNormal
		if acceptsEvents(q.Header.Values("Accept")) {
			f.feed = wire.FeedEventSource
		}
	case wire.FeedNormal, wire.FeedLongpoll, wire.FeedContinuous, wire.FeedEventSource:
	default:
		return f, badRequest(fmt.Sprintf("feed=%q: want normal, longpoll, continuous or eventsource", f.feed))
	}
	if id := q.Header.Get(wire.HeaderLastEventID); id != "" && f.feed == wire.FeedEventSource {
		// An EventSource reconnecting: on after the last event it saw.
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return f, badRequest(fmt.Sprintf("Last-Event-ID %q: want the id of an event of this feed", id))
		}
		f.query.Since, f.now = n, false
	}
	if b := v.Get("branch"); b != "" {
		if objects.ValidateBranchName(b) != nil {
			return f, &wire.Error{Code: "invalid_ref", Message: fmt.Sprintf("branch=%q is not a valid branch name", b)}
		}
		f.query.Branch = b
	}
	f.query.Prefix = v.Get("prefix")
	if len(f.query.Prefix) > objects.MaxKeyLen {
		return f, badRequest("prefix= is longer than a key may be")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > repo.MaxChangesLimit {
			return f, badRequest(fmt.Sprintf("limit=%q: want 1 to %d", s, repo.MaxChangesLimit))
		}
		f.query.Limit = n
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"timeout", &f.wait}, {"heartbeat", &f.heartbeat}} {
		s := v.Get(d.name)
		if s == "" {
			continue
		}
		t, err := time.ParseDuration(s)
		if err != nil || t <= 0 || t > MaxLongpollWait {
			return f, badRequest(fmt.Sprintf("%s=%q: want a duration such as 30s, at most %v", d.name, s, MaxLongpollWait))
		}
		*d.to = t
	}
	return f, nil
}

// changes serves the change feed; wire/changes.go describes it.
func (s *Server) changes(q *request) error {
	f, err := parseFeedRequest(q)
	if err != nil {
		return err
	}
	ctx, stop := s.feedContext(q)
	defer stop()
	if f.now {
		if f.query.Since, err = q.repo.LatestChange(ctx); err != nil {
			return err
		}
	}
	var changes []objects.Change
	pos := f.query.Since
	switch f.feed {
	case wire.FeedContinuous, wire.FeedEventSource:
		return s.streamChanges(ctx, q, f)
	case wire.FeedLongpoll:
		wait, cancel := context.WithTimeout(ctx, f.wait)
		changes, pos, err = waitChanges(wait, q, f.query)
		cancel()
		if wait.Err() != nil && q.Context().Err() == nil {
			err = nil // nothing happened in time, or the server stops: an empty answer
		}
	default:
		changes, pos, err = q.repo.Changes(ctx, f.query)
	}
	q.w.Header().Set(wire.HeaderSeq, strconv.FormatUint(pos, 10))
	if err != nil {
		return feedError(err, f.query.Since, pos)
	}
	q.w.Header().Set("Content-Type", wire.ContentJSONLines)
	enc := json.NewEncoder(q.w)
	enc.SetEscapeHTML(false)
	for _, c := range changes {
		if err := enc.Encode(c); err != nil {
			return nil // the client went away; nothing to tell it
		}
	}
	return nil
}

// feedContext is the request's context, also ended when the server
// starts to shut down: a feed waits for changes without end, and the
// shutdown's grace period is for requests that finish.
func (s *Server) feedContext(q *request) (context.Context, func()) {
	ctx, cancel := context.WithCancel(q.Context())
	stopAfter := context.AfterFunc(s.draining, cancel)
	return ctx, func() { stopAfter(); cancel() }
}

// streamChanges serves feed=continuous and feed=eventsource: changes as
// they happen, a keep-alive every heartbeat while nothing does, until the
// request ends. Each write must finish within a few heartbeats, so a
// reader that stops reading is cut off, and writers never wait for
// readers: the feed is read from the store, not queued per reader.
func (s *Server) streamChanges(ctx context.Context, q *request, f feedRequest) error {
	// Fail before the headers if since is already out of range.
	if _, pos, err := q.repo.Changes(ctx, repo.ChangesQuery{Since: f.query.Since, Limit: 1}); err != nil {
		q.w.Header().Set(wire.HeaderSeq, strconv.FormatUint(pos, 10))
		return feedError(err, f.query.Since, pos)
	}
	// The feed sets its own write deadline, shorter than the stall guard's
	// (which each write through q.w would push back to StallTimeout).
	w := q.w
	if g, ok := w.(*stallWriter); ok {
		w = g.Unwrap()
	}
	rc := http.NewResponseController(w)
	stall := max(stallHeartbeats*f.heartbeat, minStall)
	out := newFeedWriter(w, f.feed == wire.FeedEventSource)
	w.Header().Set(wire.HeaderSeq, strconv.FormatUint(f.query.Since, 10))
	w.WriteHeader(http.StatusOK)
	send := func(write func() error) error {
		deadline := time.Now().Add(stall)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		rc.SetWriteDeadline(deadline)
		if err := write(); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send(func() error { return nil }); err != nil {
		return nil
	}
	for {
		wait, cancel := context.WithTimeout(ctx, f.heartbeat)
		changes, pos, err := waitChanges(wait, q, f.query)
		cancel()
		f.query.Since = pos
		switch {
		case ctx.Err() != nil:
			return nil // the request ended: the client reconnects from its last seq
		case errors.Is(err, context.DeadlineExceeded):
			err = send(out.keepAlive)
		case err != nil:
			s.log.Warn("change feed stopped", "path", q.URL.Path, "err", err)
			e := feedError(err, f.query.Since, pos)
			var we *wire.Error
			if !errors.As(e, &we) {
				we = &wire.Error{Code: wire.ErrorCode(e), Message: "the change feed failed: reconnect"}
			}
			send(func() error { return out.failure(we) })
			return nil
		default:
			err = send(func() error {
				for _, c := range changes {
					if err := out.change(c); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err != nil {
			return nil // the client went away or stopped reading
		}
	}
}

// feedWriter frames a streamed feed: JSON lines with empty keep-alive
// lines, or Server-Sent Events with comments as keep-alives.
type feedWriter struct {
	w   io.Writer
	enc *json.Encoder
	sse bool
}

func newFeedWriter(w http.ResponseWriter, sse bool) feedWriter {
	if sse {
		w.Header().Set("Content-Type", wire.ContentEventStream)
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Content-Type", wire.ContentJSONLines)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return feedWriter{w: w, enc: enc, sse: sse}
}

func (f feedWriter) keepAlive() error {
	s := "\n"
	if f.sse {
		s = ": keep-alive\n\n"
	}
	_, err := io.WriteString(f.w, s)
	return err
}

// change writes c; its event id is its seq. JSON escapes line breaks, so
// its encoding is one data line.
func (f feedWriter) change(c objects.Change) error {
	return f.value("id: "+strconv.FormatUint(c.Seq, 10)+"\n", c)
}

// failure writes the error that ends the stream.
func (f feedWriter) failure(e *wire.Error) error {
	return f.value("event: "+wire.EventFeedError+"\n", e)
}

func (f feedWriter) value(fields string, v any) error {
	if f.sse {
		if _, err := io.WriteString(f.w, fields+"data: "); err != nil {
			return err
		}
	}
	if err := f.enc.Encode(v); err != nil {
		return err
	}
	if f.sse {
		_, err := io.WriteString(f.w, "\n")
		return err
	}
	return nil
}

// acceptsEvents says whether an Accept header asks for an event stream.
func acceptsEvents(accept []string) bool {
	for _, a := range accept {
		for part := range strings.SplitSeq(a, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), wire.ContentEventStream) {
				return true
			}
		}
	}
	return false
}

// movesRelay is a Repos whose repositories may be closed while a feed
// waits (a server of a folder): it says when one moves, open or not.
type movesRelay interface {
	Moved(name string) <-chan struct{}
}

// waitChanges is repo.WaitChanges that, under a server of a folder, lets
// go of the repository while it waits for a move, so waiting feeds do not
// keep every other repository from being opened. It gets the repository
// again to read after a move; a request that let go and wakes without a
// move (a heartbeat) does not read.
func waitChanges(ctx context.Context, q *request, query repo.ChangesQuery) ([]objects.Change, uint64, error) {
	relay, ok := q.repos.(movesRelay)
	if !ok {
		return q.repo.WaitChanges(ctx, query)
	}
	for {
		if q.done == nil { // let go while waiting, in this call or an earlier one
			select {
			case <-ctx.Done():
				return nil, query.Since, ctx.Err()
			case <-q.moved:
			}
			if err := q.hold(); err != nil {
				return nil, query.Since, err
			}
		}
		q.moved = relay.Moved(q.name) // before reading, so no move slips between
		changes, pos, caughtUp, err := q.repo.ReadChanges(ctx, query)
		if err != nil || len(changes) > 0 {
			return changes, pos, err
		}
		query.Since = pos
		if caughtUp {
			q.letGo()
		}
	}
}

// feedError words a reset for the reader; other errors pass.
func feedError(err error, since, latest uint64) error {
	if !errors.Is(err, objects.ErrFeedReset) {
		return err
	}
	return &wire.Error{Code: "feed_reset", Message: fmt.Sprintf(
		"the change feed no longer holds the changes after since=%d (older than it keeps, or not from this repository): "+
			"read the documents again, then continue from since=%d", since, latest)}
}
