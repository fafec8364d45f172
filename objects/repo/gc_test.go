package repo

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
)

// gcFixture is a repository holding every kind of root gc must honour, and
// garbage of every kind it should remove.
type gcFixture struct {
	r       *Repo
	kept    map[string]string // revision:key -> content, all must stay readable
	keptIDs []objects.ID      // objects reachable only through one kind of root
	garbage []objects.ID      // objects nothing reaches
}

func bigDoc(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func newGCFixture(t *testing.T) *gcFixture {
	t.Helper()
	ctx := context.Background()
	f := &gcFixture{r: newTestRepo(t), kept: map[string]string{}}
	r := f.r
	main := objects.BranchPrefix + "main"
	doc := func(content []byte) objects.Entry {
		e, err := r.WriteDocumentBytes(ctx, content)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// History: two commits, the first holds a version the second replaces.
	put(t, r, "a.json", `{"v":1}`)
	put(t, r, "big.bin", string(bigDoc(1, 3<<20)))
	c1 := commit(t, r, "one", 1)
	put(t, r, "a.json", `{"v":2}`)
	commit(t, r, "two", 2)
	f.kept["main~1:a.json"] = `{"v":1}`
	f.kept["main:a.json"] = `{"v":2}`
	f.kept["main:big.bin"] = string(bigDoc(1, 3<<20))

	// A tag and a remote-tracking branch, each on a commit only it reaches.
	for i, ref := range []string{objects.TagPrefix + "v1", objects.RemotePrefix + "hub/main"} {
		e := doc([]byte(ref))
		idx, err := r.applyEdits(ctx, objects.ID{}, []Edit{{Key: "only.txt", Entry: e}})
		if err != nil {
			t.Fatal(err)
		}
		id, err := r.WriteCommit(ctx, &objects.Commit{Index: idx, Parents: []objects.ID{c1}, Author: ada,
			Time: time.Unix(1_700_000_100+int64(i), 0).UTC(), Message: ref})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.store.UpdateRefs(ctx, objects.RefUpdate{Name: ref, New: id}); err != nil {
			t.Fatal(err)
		}
		f.keptIDs = append(f.keptIDs, e.ID, id)
	}

	// A recorded conflict that replaces an earlier one: every version both
	// keep stays, including a chunked one.
	oldOurs, oldTheirs := doc([]byte("old ours\n")), doc(bigDoc(2, 2<<20))
	older := (&objects.Conflict{Key: "c.txt", Ours: oldOurs, Theirs: oldTheirs, OursCommit: c1, TheirsCommit: c1,
		Winner: objects.SideOurs}).Encode()
	ours, theirs := doc([]byte("ours\n")), doc([]byte("theirs\n"))
	rec := (&objects.Conflict{Key: "c.txt", Ours: ours, Theirs: theirs, OursCommit: c1, TheirsCommit: c1,
		Winner: objects.SideOurs, Replaces: []objects.ID{older.ID}}).Encode()
	if err := r.store.Put(ctx, older, rec); err != nil {
		t.Fatal(err)
	}
	_, err := r.Stage(ctx, main, func(s *Staged) error {
		var err error
		s.Index, err = r.applyEdits(ctx, s.Index, []Edit{{Key: "c.txt", Entry: ours}})
		if err == nil {
			s.Conflicts, err = r.applyEdits(ctx, s.Conflicts, []Edit{{Key: "c.txt", Entry: objects.Entry{ID: rec.ID, Kind: objects.KindConflict}}})
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.keptIDs = append(f.keptIDs, older.ID, rec.ID, oldOurs.ID, oldTheirs.ID, ours.ID, theirs.ID)
	chunked, err := r.store.Get(ctx, oldTheirs.ID)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := objects.DecodeChunked(chunked)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range cd.Chunks {
		f.keptIDs = append(f.keptIDs, ch.ID)
	}
	// Another branch with a staged document of its own.
	if err := r.CreateBranch(ctx, "side", c1); err != nil {
		t.Fatal(err)
	}
	staged := doc([]byte("staged on side"))
	if _, err := r.StageEdits(ctx, objects.BranchPrefix+"side", []Edit{{Key: "s.txt", Entry: staged}}); err != nil {
		t.Fatal(err)
	}
	f.keptIDs = append(f.keptIDs, staged.ID)

	// Garbage: a document written and never used, a chunked one, a
	// document staged then reset, a deleted branch's own commit.
	f.garbage = append(f.garbage, doc([]byte("orphan")).ID)
	orphanBig := doc(bigDoc(3, 3<<20))
	f.garbage = append(f.garbage, orphanBig.ID)
	data, _ := r.store.Get(ctx, orphanBig.ID)
	od, _ := objects.DecodeChunked(data)
	for _, ch := range od.Chunks {
		f.garbage = append(f.garbage, ch.ID)
	}
	reset := doc([]byte("staged then reset"))
	gone := deletedBranchCommit(t, r, c1, Edit{Key: "r.txt", Entry: reset})
	f.garbage = append(f.garbage, reset.ID, gone)
	return f
}

func (f *gcFixture) has(t *testing.T, ids []objects.ID) (present, absent int) {
	t.Helper()
	for _, id := range ids {
		ok, err := f.r.store.Has(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			present++
		} else {
			absent++
		}
	}
	return present, absent
}

func (f *gcFixture) checkKept(t *testing.T) {
	t.Helper()
	for rk, want := range f.kept {
		rev, key, _ := bytes.Cut([]byte(rk), []byte(":"))
		if got := get(t, f.r, string(rev), string(key)); got != want {
			t.Errorf("%s: read %d bytes, want %d", rk, len(got), len(want))
		}
	}
	if _, absent := f.has(t, f.keptIDs); absent > 0 {
		t.Errorf("%d objects reachable from tags, remote branches, working sets or conflict records are gone", absent)
	}
	rep, err := f.r.Fsck(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("fsck after gc: %v %+v", err, rep)
	}
}

func TestGCDeletesGarbageAndKeepsEveryRoot(t *testing.T) {
	t.Parallel()
	f := newGCFixture(t)
	ctx := context.Background()
	rep, err := f.r.GC(ctx, GCOptions{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	f.checkKept(t)
	if present, _ := f.has(t, f.garbage); present > 0 {
		t.Errorf("%d of %d unreachable objects survived gc --prune=now", present, len(f.garbage))
	}
	if rep.Deleted < len(f.garbage) || rep.ObjectsAfter != rep.ObjectsBefore-rep.Deleted || rep.DeletedBytes < 3<<20 {
		t.Errorf("report %+v, want at least %d objects and 3 MiB deleted", rep, len(f.garbage))
	}
	again, err := f.r.GC(ctx, GCOptions{Exclusive: true})
	if err != nil || again.Deleted != 0 || again.ObjectsBefore != rep.ObjectsAfter {
		t.Errorf("second gc: %+v %v, want nothing left to delete of %d objects", again, err, rep.ObjectsAfter)
	}
}

// A commit read, and so kept decoded (Options.RecentBytes), that gc
// deleted can no longer be read.
func TestGCDeletesRecentCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := Init(ctx, t.TempDir(), "", Options{RecentBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	put(t, r, "a.txt", "a")
	first := commit(t, r, "one", 1)
	e, err := r.WriteDocumentBytes(ctx, []byte("only on gone"))
	if err != nil {
		t.Fatal(err)
	}
	gone := deletedBranchCommit(t, r, first, Edit{Key: "b.txt", Entry: e})
	if _, err := r.ReadCommit(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GC(ctx, GCOptions{Exclusive: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadCommit(ctx, gone); !errors.Is(err, objects.ErrNotFound) {
		t.Errorf("ReadCommit of a commit gc deleted: %v, want ErrNotFound", err)
	}
	if _, err := r.ReadCommit(ctx, first); err != nil {
		t.Error(err)
	}
}

func TestGCDryRunDeletesNothing(t *testing.T) {
	t.Parallel()
	f := newGCFixture(t)
	ctx := context.Background()
	var listed []objects.ID
	rep, err := f.r.GC(ctx, GCOptions{DryRun: true, Found: func(id objects.ID, _ int64) { listed = append(listed, id) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, absent := f.has(t, f.garbage); absent > 0 || rep.Deleted != len(listed) || rep.Deleted < len(f.garbage) {
		t.Fatalf("dry run: %d garbage objects gone, report %+v, %d listed", absent, rep, len(listed))
	}
	var deleted []objects.ID
	if _, err := f.r.GC(ctx, GCOptions{Found: func(id objects.ID, _ int64) { deleted = append(deleted, id) }}); err != nil {
		t.Fatal(err)
	}
	// The dry run lists in ID order, the gc in the order it deletes.
	slices.SortFunc(deleted, objects.ID.Compare)
	if !slices.Equal(listed, deleted) {
		t.Errorf("dry run listed %d objects, gc deleted %d", len(listed), len(deleted))
	}
	f.checkKept(t)
}

func TestGCGracePeriodKeepsRecentGarbage(t *testing.T) {
	t.Parallel()
	f := newGCFixture(t)
	for _, grace := range []time.Duration{DefaultGrace, time.Hour} {
		rep, err := f.r.GC(context.Background(), GCOptions{Grace: grace})
		if err != nil {
			t.Fatal(err)
		}
		if _, absent := f.has(t, f.garbage); absent > 0 || rep.Deleted != 0 {
			t.Fatalf("grace %v: %d recent unreachable objects deleted (%+v)", grace, absent, rep)
		}
	}
	f.checkKept(t)
}

func TestGCRefusesADamagedRepository(t *testing.T) {
	t.Parallel()
	f := newGCFixture(t)
	ctx := context.Background()
	// Delete one reachable commit through the store's own sweep. (Missing
	// documents are fsck's to find: gc does not read every document.)
	victim, err := f.r.ResolveRevision(ctx, "main~1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.r.store.(*badgerstore.Store).BeginCollection(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sweep(ctx, func(id objects.ID) bool { return id != victim }, false, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := f.r.GC(ctx, GCOptions{})
	if !errors.Is(err, ErrGCDamaged) {
		t.Fatalf("gc on a repository missing a reachable object: %+v %v, want ErrGCDamaged", rep, err)
	}
	if _, absent := f.has(t, f.garbage); absent > 0 {
		t.Errorf("gc that refused deleted %d objects", absent)
	}
	// stats still works: reporting the damage is fsck's job.
	if st, err := f.r.Stats(ctx); err != nil || st.Unreachable != 0 {
		t.Errorf("stats on a damaged repository: %+v %v", st, err)
	}
}

func TestGCNeedsAStoreThatCollects(t *testing.T) {
	t.Parallel()
	if _, err := newMemRepo(t).GC(context.Background(), GCOptions{}); !errors.Is(err, ErrGCUnsupported) {
		t.Fatalf("gc on memstore: %v", err)
	}
}

func TestGCOnAReadOnlyRepository(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r, err := Init(context.Background(), dir, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, r, "a", "a")
	r.Close()
	ro, err := Open(context.Background(), dir+"/"+DirName, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.GC(context.Background(), GCOptions{}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("gc on a read-only repository: %v", err)
	}
	rep, err := ro.GC(context.Background(), GCOptions{DryRun: true})
	if err != nil || rep.Deleted != 0 {
		t.Errorf("dry run on a read-only repository: %+v %v (the staged document is reachable)", rep, err)
	}
}

func TestParseAge(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"now": 0, "36h": 36 * time.Hour, "14d": 14 * day, "2w": 14 * day,
		"2.weeks.ago": 14 * day, "1.day.ago": day, "3.hours": 3 * time.Hour, "never": maxAge,
	} {
		if got, err := ParseAge(in); err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "soon", "-1h", "2.fortnights.ago", "w", "99999999999d", "1.5d"} {
		if _, err := ParseAge(bad); err == nil {
			t.Errorf("ParseAge(%q) accepted", bad)
		}
	}
}

func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"now", "2w", "2.weeks.ago", "36h", "never", "1.day"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, err := ParseAge(s); err == nil && (got < 0 || got > maxAge) {
			t.Fatalf("ParseAge(%q) = %v", s, got)
		}
	})
}

func TestMarkSet(t *testing.T) {
	t.Parallel()
	m := newMarkSet(10)
	var ids []objects.ID
	for i := range 5000 {
		ids = append(ids, objects.Hash([]byte{byte(i), byte(i >> 8)}))
	}
	for i, id := range ids {
		if i%2 == 0 && !m.Add(id) {
			t.Fatal("a new ID was reported as marked")
		}
	}
	for i, id := range ids {
		if m.Has(id) != (i%2 == 0) {
			t.Fatalf("ID %d: Has = %v", i, m.Has(id))
		}
	}
	if m.Len() != 2500 || m.Add(ids[0]) || m.Add(objects.ID{}) || m.Has(objects.ID{}) {
		t.Errorf("Len %d; re-adding or the zero ID changed the set", m.Len())
	}
}

// deletedBranchCommit commits edit on a branch "gone" made at from, then
// deletes the branch, and returns the commit no ref names any more.
func deletedBranchCommit(t *testing.T, r *Repo, from objects.ID, edit Edit) objects.ID {
	t.Helper()
	ctx := context.Background()
	if err := r.CreateBranch(ctx, "gone", from); err != nil {
		t.Fatal(err)
	}
	if _, err := r.StageEdits(ctx, objects.BranchPrefix+"gone", []Edit{edit}); err != nil {
		t.Fatal(err)
	}
	gone, err := r.Commit(ctx, objects.BranchPrefix+"gone", CommitOptions{Message: "gone", Author: ada, Time: time.Unix(1_700_000_200, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeleteBranch(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	return gone
}
