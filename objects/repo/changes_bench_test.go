package repo

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkChanges reads a page of 100 one-document changes on a
// 10,000-document branch: the cost of working out each move's keys when the
// feed is read (a diff of two index roots) rather than when the branch
// moves.
func BenchmarkChanges(b *testing.B) {
	r, err := Init(context.Background(), b.TempDir(), "", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	e, err := r.WriteDocumentBytes(ctx, []byte(`{"v":0}`))
	if err != nil {
		b.Fatal(err)
	}
	edits := make([]Edit, 10000)
	for i := range edits {
		edits[i] = Edit{Key: fmt.Sprintf("docs/%06d", i), Entry: e}
	}
	ref := "refs/heads/main"
	if _, err := r.CommitEdits(ctx, ref, edits, CommitOptions{Message: "base"}, nil); err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		e, err := r.WriteDocumentBytes(ctx, fmt.Appendf(nil, `{"v":%d}`, i+1))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.CommitEdits(ctx, ref, []Edit{{Key: fmt.Sprintf("docs/%06d", i*97), Entry: e}}, CommitOptions{Message: "one"}, nil); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		changes, _, err := r.Changes(ctx, ChangesQuery{Since: 1})
		if err != nil || len(changes) != 100 || len(changes[0].Keys) != 1 {
			b.Fatalf("%d changes, %v", len(changes), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/100, "µs/change")
}
