package client

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// FuzzReadChanges: whatever a server sends as a feed, reading it never
// panics, never goes back before where it started, and a line with a code
// is an error that keeps its meaning.
func FuzzReadChanges(f *testing.F) {
	f.Add([]byte(`{"seq":3,"branch":"main","keys":["a"],"time":"2026-01-01T00:00:00Z"}` + "\n\n"))
	f.Add([]byte(`{"code":"feed_reset","message":"go on from since=9"}` + "\n"))
	f.Add([]byte("{\"seq\":18446744073709551615}\n{\"seq\":1}\n"))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var seen []objects.Change
		pos, err := readChanges(context.Background(), bytes.NewReader(data), 5, func(c objects.Change) error {
			seen = append(seen, c)
			return nil
		})
		if pos < 5 {
			t.Fatalf("position went back to %d", pos)
		}
		var we *wire.Error
		if errors.As(err, &we) && we.Code == "feed_reset" && !errors.Is(err, objects.ErrFeedReset) {
			t.Fatalf("a feed_reset line is not ErrFeedReset: %v", err)
		}
	})
}
