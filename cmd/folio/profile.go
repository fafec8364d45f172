package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// Profiles of one command, for finding where a short command spends its
// milliseconds: FOLIO_CPUPROFILE=file writes a CPU profile (go tool pprof;
// several runs' files can be given together), FOLIO_TRACE=file an execution
// trace (go tool trace), which also shows the time spent waiting on the
// disk and on other goroutines. Neither is on unless asked for.
const (
	cpuProfileEnv = "FOLIO_CPUPROFILE"
	traceEnv      = "FOLIO_TRACE"
)

// startProfiles starts what the environment asks for and returns the
// function that stops it and writes the files.
func startProfiles(stderr io.Writer) (stop func()) {
	var stops []func()
	for _, p := range []struct {
		env         string
		start       func(io.Writer) error
		stopWriting func()
	}{
		{cpuProfileEnv, pprof.StartCPUProfile, pprof.StopCPUProfile},
		{traceEnv, trace.Start, trace.Stop},
	} {
		path := os.Getenv(p.env)
		if path == "" {
			continue
		}
		f, err := createProfile(stderr, p.env, path)
		if f == nil || err != nil {
			continue
		}
		if err := p.start(f); err != nil {
			fmt.Fprintf(stderr, "folio: %s: %v\n", p.env, err)
			f.Close()
			continue
		}
		stops = append(stops, func() { p.stopWriting(); f.Close() })
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
	}
}

func createProfile(stderr io.Writer, env, path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stderr, "folio: %s: %v\n", env, err)
	}
	return f, err
}
