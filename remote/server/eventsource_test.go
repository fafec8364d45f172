package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// sseEvent is one Server-Sent Event, or a comment (a keep-alive).
type sseEvent struct {
	id, event, data, comment string
}

// sseReader parses a text/event-stream as the HTML standard says: fields
// up to an empty line make an event; lines starting with ':' are comments.
type sseReader struct {
	t     testing.TB
	lines *bufio.Scanner
}

func (r *sseReader) next() sseEvent {
	r.t.Helper()
	var e sseEvent
	seen := false
	for r.lines.Scan() {
		line := r.lines.Text()
		if line == "" {
			if seen {
				return e
			}
			continue
		}
		seen = true
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			e.comment = value
		case "id":
			e.id = value
		case "event":
			e.event = value
		case "data":
			if e.data != "" {
				e.data += "\n"
			}
			e.data += value
		case "retry":
		default:
			r.t.Fatalf("event stream: unknown field in %q", line)
		}
	}
	r.t.Fatalf("event stream ended: %v", r.lines.Err())
	return e
}

// nextChange skips keep-alives and decodes the next change event.
func (r *sseReader) nextChange() (sseEvent, objects.Change) {
	r.t.Helper()
	for {
		e := r.next()
		if e.comment != "" && e.data == "" {
			continue
		}
		var c objects.Change
		if e.event != "" || json.Unmarshal([]byte(e.data), &c) != nil {
			r.t.Fatalf("want a change event, got %+v", e)
		}
		return e, c
	}
}

// openEvents opens the feed with a plain HTTP client, headers as name,
// value pairs, and checks it is an event stream.
func openEvents(t *testing.T, ctx context.Context, url string, headers ...string) *sseReader {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %s, Content-Type %q", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache", cc)
	}
	return &sseReader{t: t, lines: bufio.NewScanner(resp.Body)}
}

// TestChangesEventSource: feed=eventsource (or Accept: text/event-stream)
// streams the feed as Server-Sent Events: one event per change whose id is
// its seq and whose data is the change's JSON, a comment every heartbeat
// while idle, and a reconnection with Last-Event-ID (as a browser's
// EventSource sends it) goes on after that seq whatever since= says.
func TestChangesEventSource(t *testing.T) {
	t.Parallel()
	base := serve(t, newRepo(t), server.Options{})
	putDoc(t, base, "a", "1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	es := openEvents(t, ctx, base+wire.PathChanges+"?feed=eventsource&since=0&heartbeat=20ms")
	e, c := es.nextChange()
	if e.id != "1" || c.Seq != 1 || strings.Join(c.Keys, ",") != "a" || c.Branch != "main" {
		t.Fatalf("first event %+v: change %+v", e, c)
	}
	if e := es.next(); e.comment == "" || e.data != "" || e.id != "" { // idle: a keep-alive comment
		t.Fatalf("want a keep-alive comment, got %+v", e)
	}
	putDoc(t, base, "b", "2")
	if e, c := es.nextChange(); e.id != "2" || strings.Join(c.Keys, ",") != "b" {
		t.Fatalf("streamed event %+v: change %+v", e, c)
	}

	putDoc(t, base, "c", "3")
	// A browser reconnects to the same URL with Last-Event-ID; Accept
	// alone asks for events too.
	again := openEvents(t, ctx, base+wire.PathChanges+"?since=0", "Accept", "text/event-stream", "Last-Event-ID", "2")
	if e, c := again.nextChange(); e.id != "3" || strings.Join(c.Keys, ",") != "c" {
		t.Fatalf("after Last-Event-ID 2: event %+v, change %+v", e, c)
	}
}

// TestChangesEventSourceRefused: a bad Last-Event-ID is 400 and a dropped
// seq 410 feed_reset, as JSON before any event (an EventSource then stops
// instead of reconnecting forever).
func TestChangesEventSourceRefused(t *testing.T) {
	t.Parallel()
	base := serve(t, newRepo(t), server.Options{})
	expect(t, "bad Last-Event-ID", call(t, http.MethodGet, base+wire.PathChanges+"?feed=eventsource", nil, "Last-Event-ID", "x1"),
		http.StatusBadRequest, "bad_request")
	expect(t, "future Last-Event-ID", call(t, http.MethodGet, base+wire.PathChanges, nil, "Accept", "text/event-stream", "Last-Event-ID", "9"),
		http.StatusGone, "feed_reset")
	expect(t, "eventsource with longpoll", call(t, http.MethodGet, base+wire.PathChanges+"?feed=longpoll&timeout=50ms", nil, "Accept", "text/event-stream"),
		http.StatusOK, "") // feed= says which: Accept only picks when it does not
}
