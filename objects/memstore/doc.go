// Package memstore is an in-memory objects.Store for unit tests of the
// layers above the store. It passes the same conformance suite
// (objects/storetest) as the Badger store; nothing in it survives Close.
package memstore
