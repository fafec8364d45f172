package remote_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote"
	"github.com/folio-db/folio/remote/server"
)

// BenchmarkPush1GB pushes about 1 GB of incompressible documents over HTTP
// on 127.0.0.1 to an empty repository, with the client and the server in
// this process, and reports the peak Go heap in use while the pack
// streams: it stays bounded by the batches and buffers, not the pack.
func BenchmarkPush1GB(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 2 GB to disk")
	}
	docs, docSize := 1000, 1<<20
	if n, err := strconv.Atoi(os.Getenv("FOLIO_BENCH_PUSH_DOCS")); err == nil {
		docs = n
	}
	ctx := context.Background()
	src, err := repo.Init(ctx, b.TempDir(), "", repo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	content := make([]byte, docSize)
	var edits []repo.Edit
	for i := range docs {
		for j := 0; j < len(content); j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && j+k < len(content); k++ {
				content[j+k] = byte(v >> (8 * k))
			}
		}
		e, err := src.WriteDocumentBytes(ctx, content)
		if err != nil {
			b.Fatal(err)
		}
		edits = append(edits, repo.Edit{Key: fmt.Sprintf("blobs/%04d.bin", i), Entry: e})
	}
	if _, err := src.CommitEdits(ctx, objects.BranchPrefix+"main", edits, repo.CommitOptions{
		Message: "1 GB", Time: time.Unix(1, 0).UTC(), Author: objects.Signature{Name: "b", Email: "b@example.com"}}, nil); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		dst, err := repo.Init(ctx, b.TempDir(), "", repo.Options{})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(server.New(server.Options{Repos: server.Single(dst)}))
		var rep *remote.Report
		start := time.Now()
		peak, err := peakHeap(func() (err error) {
			rep, err = remote.Push(ctx, src, remote.Remote{Name: "dst", URL: srv.URL + "/"}, []string{objects.BranchPrefix + "main"}, remote.PushOptions{})
			return err
		})
		elapsed := time.Since(start)
		srv.Close()
		dst.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.BytesSent)/(1<<20), "MiB-sent")
		reportPeak(b, peak)
		b.ReportMetric(elapsed.Seconds(), "push-s")
	}
}
