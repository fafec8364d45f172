// Package client speaks protocol v1 to a folio server: it lists refs,
// fetches and pushes packs, and asks a server to sync. Errors the server
// reports come back as the same sentinel errors the server hit
// (errors.Is(err, objects.ErrRefChanged) holds for a push that lost a
// race), and every call counts its requests and bytes.
package client
