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
	if path := os.Getenv(cpuProfileEnv); path != "" {
		if f, err := createProfile(stderr, cpuProfileEnv, path); f != nil && err == nil {
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintf(stderr, "folio: %s: %v\n", cpuProfileEnv, err)
				f.Close()
			} else {
				stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
			}
		}
	}
	if path := os.Getenv(traceEnv); path != "" {
		if f, err := createProfile(stderr, traceEnv, path); f != nil && err == nil {
			if err := trace.Start(f); err != nil {
				fmt.Fprintf(stderr, "folio: %s: %v\n", traceEnv, err)
				f.Close()
			} else {
				stops = append(stops, func() { trace.Stop(); f.Close() })
			}
		}
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
