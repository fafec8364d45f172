package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/folio-db/folio/objects"
)

func testPutCancelled(t *testing.T, s objects.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, blobs("cancelled", 2000)...); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context: %v, want context.Canceled", err)
	}
}

// testObjectsCancelled: a walk stops at the next object once its context
// is cancelled, and a walk with a cancelled context visits nothing.
func testObjectsCancelled(t *testing.T, s objects.Store) {
	mustPut(t, s, blobs("walk", 200)...)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	calls := 0
	err := s.Objects(ctx, nil, func(objects.ID, []byte) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("Objects cancelled during the first call: %v after %d calls, want context.Canceled after 1", err, calls)
	}
	calls = 0
	err = s.Objects(ctx, nil, func(objects.ID, []byte) error { calls++; return nil })
	if !errors.Is(err, context.Canceled) || calls != 0 {
		t.Errorf("Objects with a cancelled context: %v after %d calls, want context.Canceled after 0", err, calls)
	}
}
