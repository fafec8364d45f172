package client

import (
	"bytes"
	"errors"
	"testing"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/remote/wire"
)

// FuzzReadGCReply: whatever a server sends as a gc's reply, reading it
// never panics and returns a report or an error (never both, never
// neither): a reply cut before its report is an error, never a report of
// zero.
func FuzzReadGCReply(f *testing.F) {
	f.Add([]byte(`{"found":{"id":"` + objects.EncodeBlob([]byte("x")).ID.String() + `","size":3}}` + "\n" + `{"report":{"deleted":1}}` + "\n"))
	f.Add([]byte(`{"error":{"code":"not_found","message":"gone"}}` + "\n"))
	f.Add([]byte(`{"found":{"id":"zz","size":3}}` + "\n"))
	f.Add([]byte("{}\n{}\n"))
	f.Add([]byte(`{"report":[1]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		found := 0
		rep, err := readGCReply(bytes.NewReader(data), func(objects.ID, int64) { found++ })
		if (rep == nil) == (err == nil) {
			t.Fatalf("report %+v and error %v", rep, err)
		}
		if len(bytes.TrimSpace(data)) == 0 && !errors.Is(err, wire.ErrTruncated) {
			t.Fatalf("an empty reply gave %v, want ErrTruncated", err)
		}
	})
}
