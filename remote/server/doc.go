// Package server is the HTTP face of a folio leader: protocol v1 for other
// leaders (refs, fetch, push, sync) and the document API for applications
// (GET, PUT and DELETE of documents on a branch, with ETags). Every
// document write through the API is a commit, so the server is a leader
// like any clone.
//
// One handler serves one repository at the root, or every repository under
// a folder at /NAME/. Requests are authorised by bearer tokens with read or
// read-write scope, stored hashed (see Auth). Bodies and objects are
// limited in size, and requests in time; a limit exceeded is a clear JSON
// error, never a cut connection — except inside a pack already streaming,
// where cutting the connection is how the other side learns the pack is
// incomplete (its reader reports it truncated).
//
// A push is all or nothing: the pack is stored object by object, each
// checked on arrival (package transfer), then every ref of the push moves
// in one compare-and-swap. A push that lost a race gets ref_changed ("fetch
// first"); one that would drop commits gets non_fast_forward unless forced.
//
// The change feed (GET /v1/changes, changes.go) serves the store's numbered
// branch moves to applications and peers: as a list, a long poll or a
// stream. Readers read the durable feed in the store, never a queue the
// writers fill, so a slow reader delays no write; a stream's writes have a
// deadline, so a reader that stops reading is cut off.
//
// The store API (/v1/store/..., store.go) is for the CLI of the served
// repository alone (ScopeAdmin: folio serve's own token in serve.json, or
// a request from this machine when there are no tokens): the CLI opens its
// repository on it (remote/client.Store) and runs every command's own code
// through the server. Its writes are checked and admitted like a push's
// and move refs by compare-and-swap under the document API's write lock.
package server
