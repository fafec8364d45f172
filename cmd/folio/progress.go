package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress shows bytes moving on stderr while a transfer runs, only when
// stderr is a terminal and output is not JSON: one line, redrawn at most
// every progressEvery and cleared when the transfer ends. It is a few
// lines of its own rather than a progress-bar library, whose package
// initialisation every folio command paid at start-up.
type progress struct {
	w    io.Writer // nil: show nothing
	what string

	mu    sync.Mutex // add may be called from several goroutines
	bytes int64
	drawn time.Time // when the line was last drawn
	now   func() time.Time
}

// progressEvery is how often the progress line is redrawn at most.
const progressEvery = 100 * time.Millisecond

func (a *app) progress(what string) *progress {
	f, ok := a.stderr.(*os.File)
	if !ok || a.jsonOut || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	return newProgress(f, what, time.Now)
}

func newProgress(w io.Writer, what string, now func() time.Time) *progress {
	return &progress{w: w, what: what, now: now}
}

// add counts bytes moved; it is the remote.Options Progress hook.
func (p *progress) add(n int64) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytes += n
	if t := p.now(); t.Sub(p.drawn) >= progressEvery {
		p.drawn = t
		// \r returns to the line's start and \x1b[K erases what a longer
		// earlier line left.
		fmt.Fprintf(p.w, "\r%s %s\x1b[K", p.what, humanBytes(p.bytes))
	}
}

// done erases the progress line, if one was drawn.
func (p *progress) done() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.drawn.IsZero() {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
