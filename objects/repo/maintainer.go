package repo

import "context"

// Maintainer is a store whose store-wide work runs in the process that
// holds it: the CLI of a served repository opens it on an HTTP store
// (remote/client.Store), which asks folio serve to run this package's own
// GC, Fsck and Stats on the repository it holds. A Repo on such a store
// hands those calls on instead of walking every object over the network.
type Maintainer interface {
	GC(ctx context.Context, opts GCOptions) (*GCReport, error)
	Fsck(ctx context.Context) (*FsckReport, error)
	Stats(ctx context.Context) (*Stats, error)
}
