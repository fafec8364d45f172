package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// maxChangeLine bounds one line of a change feed: a change lists at most
// a thousand keys of at most 1 KiB each.
const maxChangeLine = 4 << 20

// ChangesRequest asks for a repository's change feed (GET /v1/changes).
type ChangesRequest struct {
	Since     uint64
	Now       bool          // start from the latest change instead of Since
	Feed      string        // wire.FeedNormal (""), FeedLongpoll or FeedContinuous
	Branch    string        // short name; "" for every branch
	Prefix    string        // only changes to documents under it
	Timeout   time.Duration // longpoll: how long the server waits; 0: its default
	Heartbeat time.Duration // continuous: keep-alive interval; 0: the server's default
	// Opened, when set, is called once the server has taken the request,
	// before any change: from then on no move is missed.
	Opened func()
}

func (req ChangesRequest) query() string {
	v := url.Values{}
	if req.Now {
		v.Set("since", "now")
	} else {
		v.Set("since", strconv.FormatUint(req.Since, 10))
	}
	for name, value := range map[string]string{"feed": req.Feed, "branch": req.Branch, "prefix": req.Prefix} {
		if value != "" {
			v.Set(name, value)
		}
	}
	for name, d := range map[string]time.Duration{"timeout": req.Timeout, "heartbeat": req.Heartbeat} {
		if d > 0 {
			v.Set(name, d.String())
		}
	}
	return v.Encode()
}

// Changes reads the change feed and calls fn with each change as it
// arrives: for a continuous feed, until ctx ends or the server closes the
// stream. It returns the sequence number read up to, the since of the
// next request, also when it fails: a since the server no longer keeps
// fails with an error wrapping objects.ErrFeedReset, and the number
// returned is then the server's latest.
func (c *Client) Changes(ctx context.Context, req ChangesRequest, fn func(objects.Change) error) (uint64, error) {
	pos := req.Since
	path := wire.PathChanges + "?" + req.query()
	var resp *http.Response
	var err error
	if req.Feed == wire.FeedContinuous {
		resp, err = c.doStream(ctx, path)
	} else {
		resp, err = c.do(ctx, http.MethodGet, path, "", nil)
	}
	if errors.Is(err, objects.ErrFeedReset) && !req.Now {
		// Ask where the feed stands now, for the caller to go on from.
		if latest, lerr := c.Changes(ctx, ChangesRequest{Now: true}, nil); lerr == nil {
			pos = latest
		}
	}
	if err != nil {
		return pos, err
	}
	defer resp.Body.Close()
	if seq, perr := strconv.ParseUint(resp.Header.Get(wire.HeaderSeq), 10, 64); perr == nil {
		pos = seq
	}
	if req.Opened != nil {
		req.Opened()
	}
	return readChanges(ctx, resp.Body, pos, fn)
}

// readChanges reads a feed's lines: changes for fn, blank keep-alives,
// or an error that ended the feed. It returns the last seq read (at least
// pos).
func readChanges(ctx context.Context, body io.Reader, pos uint64, fn func(objects.Change) error) (uint64, error) {
	lines := bufio.NewScanner(body)
	lines.Buffer(make([]byte, 0, 64<<10), maxChangeLine)
	for lines.Scan() {
		if len(lines.Bytes()) == 0 {
			continue // a keep-alive
		}
		var line wire.ChangeLine
		if err := json.Unmarshal(lines.Bytes(), &line); err != nil {
			return pos, fmt.Errorf("change feed line: %w", err)
		}
		if line.Code != "" {
			return pos, wire.CodeError(line.Code, line.Message)
		}
		if fn == nil {
			continue
		}
		if err := fn(line.Change); err != nil {
			return pos, err
		}
		pos = max(pos, line.Seq)
	}
	if err := lines.Err(); err != nil && ctx.Err() == nil {
		return pos, fmt.Errorf("change feed: %w", err)
	}
	return pos, nil
}
