package repo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/storetest"
)

// deepGarbage writes a history no ref reaches, so that gc deletes all of
// it: commits commits over 1,200 documents under long keys (an index of
// three levels), each editing a few; every tenth a merge of a side commit;
// every fifth a conflict record on one document that replaces the record
// before it (a chain of records, in a conflicts map); every 60th a chunked
// document. It returns how many objects it wrote, about 13 a commit.
func deepGarbage(t *testing.T, r *Repo, commits int) int {
	t.Helper()
	ctx := context.Background()
	const docs = 1200
	rng := rand.New(rand.NewPCG(7, 7))
	key := func(i int) string { return fmt.Sprintf("deep/%s/%04d.json", strings.Repeat("k", 150), i) }
	written := 0
	putDocs := func(edits []Edit, contents ...[]byte) []Edit {
		var objs []objects.Object
		for _, c := range contents {
			obj, e, ok := EncodeSmallDocument(c)
			if !ok {
				var err error
				if e, err = r.WriteDocumentBytes(ctx, c); err != nil {
					t.Fatal(err)
				}
				written += 2 + len(c)>>20 // a chunk list and its chunks, about
			} else {
				objs = append(objs, obj)
			}
			edits = append(edits, Edit{Key: key(rng.IntN(docs)), Entry: e})
		}
		if err := r.store.Put(ctx, objs...); err != nil {
			t.Fatal(err)
		}
		written += len(objs)
		return edits
	}
	edit := func(root objects.ID, edits []Edit) objects.ID {
		id, err := r.applyEdits(ctx, root, edits)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	commit := func(c *objects.Commit) objects.ID {
		c.Author, c.Time, c.Message = ada, time.Unix(1_700_000_000, 0).UTC(), "deep"
		id, err := r.WriteCommit(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		written++
		return id
	}
	doc := func(i, v int) []byte { return fmt.Appendf(nil, `{"doc":%d,"version":%d}`, i, v) }

	var all []Edit
	for i := range docs {
		all = append(all, Edit{Key: key(i), Entry: objects.Entry{}})
		obj, e, _ := EncodeSmallDocument(doc(i, 0))
		if err := r.store.Put(ctx, obj); err != nil {
			t.Fatal(err)
		}
		all[i].Entry = e
	}
	index := edit(objects.ID{}, all)
	head := commit(&objects.Commit{Index: index})
	var conflicts, record objects.ID
	for n := 1; n < commits; n++ {
		edits := putDocs(nil, doc(n, 1), doc(n, 2), doc(n, 3), doc(n, 4))
		if n%60 == 0 {
			edits = putDocs(edits, bigDoc(uint64(n), 1<<20+1<<19))
		}
		parents := []objects.ID{head}
		if n%10 == 0 {
			side := putDocs(nil, doc(n, 5))
			parents = append(parents, commit(&objects.Commit{Index: edit(index, side), Parents: []objects.ID{head}}))
			edits = append(edits, side...)
		}
		if n%5 == 0 {
			ours, theirs := edits[0].Entry, edits[1].Entry
			c := &objects.Conflict{Key: "hot.json", Ours: ours, Theirs: theirs, OursCommit: head, TheirsCommit: head, Winner: objects.SideOurs}
			if !record.IsZero() {
				c.Replaces = []objects.ID{record}
			}
			rec := c.Encode()
			if err := r.store.Put(ctx, rec); err != nil {
				t.Fatal(err)
			}
			record = rec.ID
			conflicts = edit(conflicts, []Edit{{Key: "hot.json", Entry: objects.Entry{ID: record, Kind: objects.KindConflict}}})
			written += 2
		}
		index = edit(index, edits)
		written += 8 // the paths of the index edit, about
		head = commit(&objects.Commit{Index: index, Conflicts: conflicts, Parents: parents})
	}
	return written
}

// A gc cut short (here: cancelled after a few delete batches, again and
// again until one finishes) never leaves a stored object whose closure is
// not whole, however deep the garbage: a receive may trust any object the
// store holds.
func TestGCCutShortLeavesEveryObjectClosed(t *testing.T) {
	t.Parallel()
	f := newGCFixture(t)
	garbage := deepGarbage(t, f.r, 400)
	const cutAfter = 1500 // objects: a delete batch and half another
	before := storetest.CheckClosed(t, f.r.store)
	for cuts := 0; ; cuts++ {
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		seen := 0
		rep, err := f.r.GC(ctx, GCOptions{Exclusive: true, Found: func(objects.ID, int64) {
			if seen++; seen == cutAfter {
				cancel()
			}
		}})
		cancel()
		if err == nil {
			if cuts < garbage/cutAfter/2 {
				t.Errorf("gc finished after %d cuts, with %d garbage objects written: it was hardly cut", cuts, garbage)
			}
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		after := storetest.CheckClosed(t, f.r.store)
		t.Logf("cut %d: %d objects stored, %d before (%s)", cuts, after, before, time.Since(start))
		if t.Failed() {
			t.Fatalf("after gc cut short (%d objects left of %d, report %+v)", after, before, rep)
		}
		if after >= before {
			t.Fatalf("gc cut short deleted nothing: %d objects stored, %d before", after, before)
		}
		before = after
	}
	storetest.CheckClosed(t, f.r.store)
	f.checkKept(t)
	if present, _ := f.has(t, f.garbage); present > 0 {
		t.Errorf("%d of %d unreachable objects survived gc --prune=now", present, len(f.garbage))
	}
}
