// Package storetest is the conformance suite every objects.Store must pass,
// in the manner of restic's backend tests and Perkeep's storagetest: one
// list of behaviours, run against the in-memory store and the Badger store
// alike, so that layers above can rely on the interface and not on one
// implementation.
//
// Run opens a fresh, empty store for each subtest and checks:
//
//   - objects: Put/Get/Has round trips of objects of many sizes; a missing
//     ID gives an error wrapping objects.ErrNotFound; the bytes Get returns
//     belong to the caller and the bytes passed to Put may be reused after
//     it returns; storing an object twice is harmless; Objects visits in ID
//     order, filters by a byte prefix and stops on the callback's error;
//   - refs: Ref and Refs (prefix filter, sorted by name, ErrNotFound);
//   - compare-and-swap: UpdateRefs creates (zero Old), moves, deletes (zero
//     New); a wrong Old gives objects.ErrRefChanged and changes nothing; a
//     batch is all-or-nothing; invalid names and a ref named twice in one
//     batch are rejected with objects.ErrInvalidRef before anything moves;
//   - concurrency: goroutines racing to move one ref from the same Old have
//     exactly one winner, and updates of different refs never get in each
//     other's way;
//   - cancellation: Put and Objects stop when their context is cancelled.
//
// Behaviours that only a persistent store has (reopening, locking, crash
// safety) are tested by that store's own package.
package storetest
