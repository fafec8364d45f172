package remote_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// BenchmarkPeerLatency: the time from a document PUT through the document
// API of leader A until the document is readable on leader B, while every
// leader takes 100 writes/s of its own through its document API; direct
// (two leaders peered both ways) and across a ring of five (each peered
// with the next; until readable on every leader). Reports the median and
// 99th percentile. All on 127.0.0.1 with real stores (serve --peer).
func BenchmarkPeerLatency(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
		link func([]*peered, testing.TB)
	}{
		{"direct", 2, func(ls []*peered, t testing.TB) { ls[0].peer(t, ls[1]); ls[1].peer(t, ls[0]) }},
		{"ring5", 5, topologies["ring"]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var leaders []*peered
			for range bc.n {
				leaders = append(leaders, newPeered(b))
			}
			bc.link(leaders, b)
			ctx, stop := context.WithCancel(context.Background())
			writes := writeLoad(ctx, leaders, 10*time.Millisecond, 1, false)
			var lat []time.Duration
			each := make([][]time.Duration, bc.n) // by leader
			i := 0
			for b.Loop() {
				key := fmt.Sprintf("probe/%d", i)
				i++
				start := time.Now()
				if _, err := putDoc(ctx, leaders[0].url, key, []byte(key)); err != nil {
					b.Fatal(err)
				}
				took, err := readableOnEach(leaders[1:], key, start)
				if err != nil {
					b.Fatalf("%v\n%s", err, describeLeaders(b, leaders))
				}
				for j, d := range took {
					each[j+1] = append(each[j+1], d)
				}
				lat = append(lat, slices.Max(took))
			}
			stop()
			writes()
			b.ReportMetric(p50(lat), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			if bc.n > 2 {
				// One hop each way: the next leader, which A pushes to,
				// and the last, which pulls from A (it peers with A).
				b.ReportMetric(p50(each[1]), "push-hop-p50-ms")
				b.ReportMetric(p50(each[bc.n-1]), "pull-hop-p50-ms")
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// p50 is the median of ds, in milliseconds; it sorts ds.
func p50(ds []time.Duration) float64 {
	slices.Sort(ds)
	return ms(ds[len(ds)/2])
}

// readableOnEach waits, on every leader at once, until key is readable
// there, and returns how long after start each saw it.
func readableOnEach(leaders []*peered, key string, start time.Time) ([]time.Duration, error) {
	took := make([]time.Duration, len(leaders))
	errs := make([]error, len(leaders))
	var wg sync.WaitGroup
	for j, l := range leaders {
		wg.Go(func() {
			errs[j] = readable(l, key)
			took[j] = time.Since(start)
		})
	}
	wg.Wait()
	return took, errors.Join(errs...)
}

// readable waits until key is readable on main of l, woken by each of its
// branch moves, within peerWait.
func readable(l *peered, key string) error {
	deadline := time.NewTimer(peerWait)
	defer deadline.Stop()
	for {
		moved, err := l.r.Moved()
		if err != nil {
			return err
		}
		if _, _, err := l.r.ResolveDocument(context.Background(), "main", key); err == nil {
			return nil
		}
		select {
		case <-moved:
		case <-deadline.C:
			return fmt.Errorf("%s not readable on %s within %s", key, l.name, peerWait)
		}
	}
}

// BenchmarkPeerMesh: three leaders peered all-to-all (both ways), on
// 127.0.0.1 without the tests' proxies, each take 200 writes/s through
// their document APIs for b.N × 5 ms; then
// every acknowledged write must be in the converged history. The writes
// come two ways:
//
//   - open-200: on a fixed schedule, 200 a second a leader, each sent when
//     its time comes whether or not the ones before it were acknowledged
//     (offerLoad), as many applications write. A leader that keeps up
//     acknowledges 200/s; one that does not, fewer, and its PUTs' times,
//     counted from their turn in the schedule, grow.
//   - closed-4: meshClients writers a leader, each sending its next write
//     on its next turn once its last was acknowledged (writeLoad): the rate
//     is at most meshClients / the time a PUT takes, so 200/s needs every
//     PUT acknowledged within 20 ms: it measures that time as much as the
//     rate.
//
// Reports the writes/s each leader acknowledged (over the time writes
// were offered), the writes offered and not acknowledged (open-200: all
// are answered before the mesh converges), the median and 99th
// percentile time a PUT took to be acknowledged, and how long the mesh
// took to converge once writes stopped, and the syncs a second each
// leader's peerings made together while writes went on; and per
// acknowledged write, the CPU of the whole process and the objects the
// peerings' fetches received and pushes sent (what replication costs).
func BenchmarkPeerMesh(b *testing.B) {
	b.Run("open-200", func(b *testing.B) {
		benchmarkMesh(b, func(ctx context.Context, leaders []*peered) func() ([]acked, int) {
			return offerLoad(ctx, leaders, meshRate)
		})
	})
	b.Run("closed-4", func(b *testing.B) {
		benchmarkMesh(b, func(ctx context.Context, leaders []*peered) func() ([]acked, int) {
			writes := writeLoad(ctx, leaders, time.Second/meshRate, meshClients, false)
			return func() ([]acked, int) { acks, _ := writes(); return acks, 0 }
		})
	})
}

const (
	meshRate    = 200 // writes a second a leader
	meshClients = 4
)

func benchmarkMesh(b *testing.B, load func(context.Context, []*peered) func() ([]acked, int)) {
	var leaders []*peered
	for range 3 {
		l := newPeered(b)
		l.direct()
		leaders = append(leaders, l)
	}
	for _, a := range leaders {
		for _, o := range leaders {
			if a != o {
				a.peer(b, o)
			}
		}
	}
	b.ResetTimer()
	ctx, stop := context.WithCancel(context.Background())
	start, cpuStart := time.Now(), processCPU()
	writes := load(ctx, leaders)
	time.Sleep(time.Duration(b.N) * 5 * time.Millisecond)
	stop()
	offered := time.Since(start)
	acks, unacked := writes()
	elapsed, cpu := time.Since(start), processCPU()-cpuStart
	var syncs, received, sent, merges int64
	for _, l := range leaders {
		l.mu.Lock()
		for _, k := range l.links {
			syncs += int64(k.state.Status().Syncs)
			received += k.received.Load()
			sent += k.sent.Load()
			merges += k.merges.Load()
		}
		l.mu.Unlock()
	}
	waitConverged(b, leaders)
	converged, untilConverged := time.Since(start)-elapsed, processCPU()-cpuStart
	b.StopTimer()
	history, err := ancestors(context.Background(), leaders[0].r, head(b, leaders[0].r))
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range acks {
		if !history[a.commit] {
			b.Fatalf("lost write %s (%s)", a.key, a.commit.Short())
		}
	}
	n := float64(max(len(acks), 1))
	b.ReportMetric(float64(len(acks))/offered.Seconds()/3, "writes/s/leader")
	b.ReportMetric(float64(unacked), "unacked")
	b.ReportMetric(float64(syncs)/elapsed.Seconds()/3, "syncs/s/leader")
	// Per acknowledged write: the CPU of the whole process (leaders,
	// peerings and writers) while writes went on, and until the leaders
	// converged (peerings that sync back to back take what CPU is left
	// while writes go on; all a write costs is spent once they converged),
	// and what the peerings moved.
	b.ReportMetric(ms(cpu)/n, "cpu-ms/write")
	b.ReportMetric(ms(untilConverged)/n, "cpu-conv-ms/write")
	b.ReportMetric(float64(received)/n, "objs-recv/write")
	b.ReportMetric(float64(sent)/n, "objs-sent/write")
	b.ReportMetric(float64(merges)/n, "merges/write")
	var took []time.Duration
	for _, a := range acks {
		took = append(took, a.took)
	}
	if len(took) > 0 { // none in b.N = 1's 5 ms
		b.ReportMetric(p50(took), "put-p50-ms")
		b.ReportMetric(ms(took[len(took)*99/100]), "put-p99-ms")
	}
	b.ReportMetric(ms(converged), "converge-ms")
}

// maxWaiting bounds the writes offerLoad has waiting on one leader.
const maxWaiting = 256

// offerLoad PUTs perSecond documents a second through the document API of
// each leader, on a fixed schedule (an open loop), the leaders' turns
// spread over the interval between two, until ctx ends; it returns a
// function that waits for the writes sent to be answered (they are not
// cut short) and returns those acknowledged and how many were not. A
// write's time counts from its turn in the schedule, so a write held back
// behind others counts the wait. A write whose turn comes while
// maxWaiting wait on its leader is not sent, and counts as not
// acknowledged: a leader slower than the load acknowledges fewer.
func offerLoad(ctx context.Context, leaders []*peered, perSecond int) func() ([]acked, int) {
	var mu sync.Mutex
	var all []acked
	failed := 0
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(perSecond)
	for i, l := range leaders {
		wg.Go(func() {
			waiting := make(chan struct{}, maxWaiting)
			start := time.Now().Add(interval * time.Duration(i) / time.Duration(len(leaders)))
			for n := 0; ; n++ {
				turn := start.Add(time.Duration(n) * interval)
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(turn)):
				}
				select {
				case waiting <- struct{}{}:
				default:
					mu.Lock()
					failed++ // maxWaiting wait already
					mu.Unlock()
					continue
				}
				wg.Go(func() {
					defer func() { <-waiting }()
					key := fmt.Sprintf("own/%d/%d", i, n)
					body := fmt.Appendf(nil, "leader %d write %d\n", i, n)
					commit, err := putDoc(context.Background(), l.url, key, body)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failed++
						return
					}
					all = append(all, acked{key, body, commit, time.Since(turn)})
				})
			}
		})
	}
	return func() ([]acked, int) {
		wg.Wait()
		return all, failed
	}
}

// ancestors are the commits reachable from head, head included.
func ancestors(ctx context.Context, r *repo.Repo, head objects.ID) (map[objects.ID]bool, error) {
	seen := map[objects.ID]bool{head: true}
	for todo := []objects.ID{head}; len(todo) > 0; {
		id := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		c, err := r.ReadCommit(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, p := range c.Parents {
			if !seen[p] {
				seen[p] = true
				todo = append(todo, p)
			}
		}
	}
	return seen, nil
}
