// Package remote is replication as commands use it: named remotes,
// credentials, and the operations clone, fetch, push, pull and sync, built
// on the protocol client (remote/client), the transfer rules
// (remote/transfer) and converging merges (package merge).
//
// Fetch is one request: the client sends the commits it has, the server
// answers with its refs and a pack of what the client lacks. Push is two:
// the refs listing, then one request with the pack and the ref updates,
// applied on the server by compare-and-swap. Sync is what unattended jobs
// run: fetch, converge every branch with its remote counterpart (the same
// merge commit on every leader), push back, and retry with backoff when a
// push lost a race. A sync with nothing new is a single request.
package remote
