package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/server"
	"github.com/folio-db/folio/remote/wire"
)

// The document API stamps commits from the server's own clock: the author
// date is the clock's reading and the commit time its hybrid logical
// clock, whatever date the client's request carries.
func TestDocumentWritesStampTheServersClock(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 21, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	r, err := repo.Init(context.Background(), t.TempDir(), "", repo.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	base := serve(t, r, server.Options{Now: clock})

	put := call(t, http.MethodPut, base+wire.PathDocs+"/a.txt", []byte("a\n"), "Date", "Fri, 01 Jan 2099 00:00:00 GMT")
	expect(t, "put", put, http.StatusCreated, "")
	c, err := r.ReadCommit(context.Background(), decodeWrite(t, put).Commit)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Time.Equal(now) || !c.CommitTime.Equal(now) {
		t.Errorf("author date %s, commit time %s; want the server's clock %s for both", c.Time, c.CommitTime, now)
	}
}
