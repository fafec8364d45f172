package main

import (
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows bytes moving on stderr while a transfer runs, only when
// stderr is a terminal and output is not JSON.
type progress struct{ bar *progressbar.ProgressBar }

func (a *app) progress(what string) *progress {
	f, ok := a.stderr.(*os.File)
	if !ok || a.jsonOut || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionClearOnFinish(),
	)}
}

// add counts bytes moved; it is the remote.Options Progress hook.
func (p *progress) add(n int64) {
	if p.bar != nil {
		p.bar.Add64(n)
	}
}

func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
