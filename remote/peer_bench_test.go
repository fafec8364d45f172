package remote_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/folio-db/folio/remote/wire"
)

// BenchmarkPeerLatency: a document PUT through the document API of leader
// A, until it is readable on leader B, the two peered both ways on
// 127.0.0.1 (serve --peer). Reports the median and 90th percentile.
func BenchmarkPeerLatency(b *testing.B) {
	pa, pb := newPeered(b), newPeered(b)
	pa.peer(b, pb)
	pb.peer(b, pa)
	ctx := context.Background()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		key := fmt.Sprintf("k%d", i)
		i++
		moved, err := pb.r.Moved()
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		req, _ := http.NewRequest(http.MethodPut, pa.url+wire.PathDocs+"/"+key, bytes.NewReader([]byte(key)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			b.Fatalf("put: %v %v", err, resp.Status)
		}
		resp.Body.Close()
		for {
			if _, _, err := pb.r.ResolveDocument(ctx, "main", key); err == nil {
				break
			}
			<-moved
			if moved, err = pb.r.Moved(); err != nil {
				b.Fatal(err)
			}
			if _, _, err := pb.r.ResolveDocument(ctx, "main", key); err == nil {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
}
