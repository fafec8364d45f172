// Package client speaks protocol v1 to a folio server: it lists refs,
// fetches and pushes packs, and asks a server to sync. Errors the server
// reports come back as the same sentinel errors the server hit
// (errors.Is(err, objects.ErrRefChanged) holds for a push that lost a
// race), and every call counts its requests and bytes.
//
// Store is objects.Store over a server's store API: the CLI of a repository
// that folio serve holds opens its repo.Repo on it, so every command works
// there with the same code as on the store itself (store.go).
package client
