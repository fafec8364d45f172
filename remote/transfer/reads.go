package transfer

import (
	"context"
	"sync"

	"github.com/folio-db/folio/objects"
)

// maxSharedReadBytes bounds the stored objects a receive keeps for Admit.
const maxSharedReadBytes = 16 << 20

// sharedReads keeps the nodes, commits and conflict records that Receive
// and Admit read from the store, so each is read once: Receive reads the
// stored children of each new node for their types, and Admit reads them
// again to check that they fit where they sit. A read from a Badger store
// decompresses a whole block, and those reads were most of the CPU of a
// fetch of one commit. Objects are immutable, so what is kept never goes
// stale; past maxSharedReadBytes, nothing more is kept. Documents are not
// kept: Admit reads none but chunked ones.
type sharedReads struct {
	objects.ObjectReader
	*kept
}

type kept struct {
	mu    sync.Mutex
	data  map[objects.ID][]byte
	bytes int
}

func newSharedReads(r objects.ObjectReader) *sharedReads {
	return &sharedReads{ObjectReader: r, kept: &kept{data: map[objects.ID][]byte{}}}
}

func (s *sharedReads) Get(ctx context.Context, id objects.ID) ([]byte, error) {
	s.mu.Lock()
	data, ok := s.data[id]
	s.mu.Unlock()
	if ok {
		return data, nil
	}
	data, err := s.ObjectReader.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if t, _ := objects.TypeOf(data); t != objects.TypeBlob && t != objects.TypeChunked {
		s.keep(id, data)
	}
	return data, nil
}

func (k *kept) keep(id objects.ID, data []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.bytes+len(data) <= maxSharedReadBytes {
		k.data[id] = data
		k.bytes += len(data)
	}
}

// over is s reading through view instead, with what s kept: Admit's view
// holds what Receive read from (the same quarantine).
func (s *sharedReads) over(view objects.ObjectReader) *sharedReads {
	return &sharedReads{ObjectReader: view, kept: s.kept}
}
