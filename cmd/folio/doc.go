// Command folio is the command-line interface of folio, a versioned
// document store where every clone is a leader.
//
// It is thin on purpose: each command (cmd_*.go) parses its flags, calls
// the objects, merge and remote packages, and prints, as text for people or
// as JSON with --json; the HTTP server and the tests call the same package
// code. One place, exit.go, turns errors into messages, hints and exit
// codes (0 success, 1 failure, 2 bad usage, 3 conflicts recorded).
//
// Tests run the real CLI: the test binary doubles as folio, in testscript
// scripts (testdata/script) and in end-to-end tests that start and kill
// real processes (crash safety, convergence of served leaders, faults).
//
// Start-up. folio is one static binary. Go runs the package initialisation
// of everything it links before main, and Badger brings protobuf,
// OpenTelemetry, expvar (and with it net/http) and ristretto: on the 2-core
// test machine, where a page fault costs ~30 us, a program that only links
// Badger takes 15-17 ms of CPU to print a line, a Go hello world 5-8 ms.
// A small front binary that answered version and merge-file itself and
// exec'd the full one for the rest was measured: version 8.3 ms (git 6.6),
// but every command that opens a repository 7.5 ms slower (get 29.8 ->
// 37.1 ms), so the binary stays whole. What start-up folio controls is kept
// off the init path (commandsFor builds only the named command; no package
// of folio computes tables at init), and version and merge-file run without
// signal handling, whose watcher thread cost them three clones (~1 ms).
//
// Where the rest goes: process creation itself is ~4 ms here (/bin/true),
// and the remainder follows the page faults a run takes (git --version 135,
// a Go hello world 186, a hello world that imports Badger 362, folio version
// 425). Faulting the executable and the heap in ahead with
// madvise(MADV_POPULATE_READ/WRITE) from the first package initialised
// removed ~190 of the traps but saved no measurable CPU time, so it is not
// done; nor did GOAMD64=v3 or GOEXPERIMENT=nogreenteagc change anything.
package main
