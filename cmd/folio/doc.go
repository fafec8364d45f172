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
package main
