// Package badgerstore is the real objects.Store: objects and refs of one
// leader in one Badger database. It is the only package that imports
// Badger.
package badgerstore
