package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/remotetest"
	"github.com/folio-db/folio/remote/wire"
)

var short = client.Timeouts{Connect: time.Second, Handshake: time.Second, Reply: 200 * time.Millisecond, Stall: 200 * time.Millisecond}

// Every call to a server that accepts and never answers fails with
// ErrTimeout, naming the server, instead of waiting forever.
func TestSilentServerTimesOut(t *testing.T) {
	t.Parallel()
	url := remotetest.SilentServer(t)
	c, err := client.New(url, client.Options{Timeouts: short})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := map[string]func() error{
		"refs": func() error { _, err := c.Refs(ctx); return err },
		"fetch": func() error {
			return c.Fetch(ctx, wire.FetchRequest{}, wire.Limits{}, func(*wire.FetchResponse, *wire.PackReader) error { return nil })
		},
		"push": func() error {
			_, err := c.Push(ctx, wire.PushRequest{}, func(*wire.PackWriter) error { return nil })
			return err
		},
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, client.ErrTimeout) || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "no reply") {
			t.Errorf("%s: %v, want a timeout naming %s", name, err, url)
		}
	}
}

// A server that sends its headers and then a byte now and then is cut off
// after a stall timeout: progress means StallBytes, not a byte.
func TestTricklingReplyTimesOut(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", wire.ContentJSON)
		rc := http.NewResponseController(w)
		for i := 0; r.Context().Err() == nil && i < 1000; i++ {
			w.Write([]byte(" "))
			rc.Flush()
			time.Sleep(20 * time.Millisecond)
		}
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.Options{Timeouts: short})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Refs(context.Background())
	if !errors.Is(err, client.ErrTimeout) || !strings.Contains(err.Error(), "stalled") {
		t.Fatalf("trickling reply: %v, want a stall timeout", err)
	}
}

// A reply that is not folio's is reported as such, with its status and
// at most one line of its body.
func TestNotAFolioServer(t *testing.T) {
	t.Parallel()
	page := "<html>\n<h1>Not Implemented</h1>\n" + strings.Repeat("<p>noise</p>\n", 1000) + "</html>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotImplemented)
		io.WriteString(w, page)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Refs(context.Background())
	if !errors.Is(err, client.ErrNotFolio) {
		t.Fatalf("got %v, want ErrNotFolio", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "not a folio server (HTTP 501 Not Implemented: <html>)") || strings.Contains(msg, "\n") || len(msg) > 300 {
		t.Fatalf("message %q: want the status and one line", msg)
	}
}

// A continuous change feed is alive by its keep-alive lines: it is not cut
// off for moving less than StallBytes, only when nothing at all arrives
// for a stall timeout.
func TestContinuousFeedLivesOnKeepAlives(t *testing.T) {
	t.Parallel()
	beats := make(chan int, 1)
	// A keep-alive every eighth of the stall timeout, for one and a half
	// of them: a margin that holds on a machine under a load of 30 (with
	// a quarter of 200 ms, it did not).
	timeouts := short
	timeouts.Stall = time.Second
	// The test is of the stall timeout: the reply's headers may take their
	// time on a loaded machine (200 ms did not always do).
	timeouts.Reply = 10 * time.Second
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(wire.HeaderSeq, "0")
		rc := http.NewResponseController(w)
		n := 0
		for ; r.Context().Err() == nil && n < 12; n++ {
			w.Write([]byte("\n"))
			rc.Flush()
			time.Sleep(timeouts.Stall / 8)
		}
		beats <- n
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, client.Options{Timeouts: timeouts})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Changes(context.Background(), client.ChangesRequest{Feed: wire.FeedContinuous}, func(objects.Change) error { return nil })
	if err != nil {
		t.Fatalf("a feed sending keep-alives for 1.5 stall timeouts: %v", err)
	}
	if n := <-beats; n != 12 {
		t.Errorf("the client left after %d keep-alives", n)
	}
}
