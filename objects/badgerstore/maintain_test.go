package badgerstore

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// shortSessions opens the store n times, as n CLI commands would, and
// each time writes a blob and moves main (absent before) to it; opened,
// when set, sees each session's store first. It returns main.
func shortSessions(t *testing.T, dir string, n int, opened func(*Store)) objects.ID {
	t.Helper()
	var cur objects.ID
	for session := range n {
		s := openTemp(t, dir, Options{})
		if opened != nil {
			opened(s)
		}
		o := objects.EncodeBlob(fmt.Appendf(nil, "session %d", session))
		if err := s.Put(t.Context(), o); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateRefs(t.Context(), objects.RefUpdate{Name: "refs/heads/main", Old: cur, New: o.ID}); err != nil {
			t.Fatal(err)
		}
		cur = o.ID
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return cur
}

// TestLevelZeroStaysBounded: short read-write sessions that each write a
// little, as CLI commands do, leave a level-0 table each and never run
// Badger's compactors; the close-time compaction keeps their number under
// compactL0At however many sessions there are, and every session opens
// Badger once: the session that leaves compactL0At tables tells the next
// one to merge them (mergeDueFile).
func TestLevelZeroStaysBounded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	openTemp(t, dir, Options{Create: true}).Close()
	maxL0, merges := 0, 0
	shortSessions(t, dir, 3*compactL0At, func(s *Store) {
		maxL0 = max(maxL0, s.db.Levels()[0].NumTables)
		if s.mergesLevelZero {
			merges++
		}
		if s.badgerOpens != 1 {
			t.Errorf("a session opened Badger %d times; the session before should have said that level 0 was due a merge", s.badgerOpens)
		}
	})
	if merges == 0 {
		t.Error("no session merged level 0")
	}
	if maxL0 > compactL0At {
		t.Errorf("%d level-0 tables after %d short sessions; the limit is %d", maxL0, 3*compactL0At, compactL0At)
	}
	if maxL0 < compactL0At-1 {
		t.Errorf("at most %d level-0 tables after %d short sessions: each session should leave one, so this test does not reach the limit", maxL0, 3*compactL0At)
	}
	s := openTemp(t, dir, Options{ReadOnly: true})
	defer s.Close()
	for session := range 3 * compactL0At {
		if has, err := s.Has(t.Context(), objects.EncodeBlob(fmt.Appendf(nil, "session %d", session)).ID); err != nil || !has {
			t.Fatalf("object of session %d after the compactions: %v, %v", session, has, err)
		}
	}
}

// TestLargeSessionSettles: a session that wrote at least settleAfter bytes,
// short (Options.Short) or not, waits on Close until Badger's compactors
// have brought every level back under its target, and merges level 0,
// final flush included, into the base level: the next close-time
// compaction of level 0, in a short command, rewrites what short commands
// wrote, not what this session did. The store starts with a backlog:
// level-0 tables written with Badger's compactors off.
func TestLargeSessionSettles(t *testing.T) {
	for _, short := range []bool{false, true} {
		t.Run(fmt.Sprintf("short=%v", short), func(t *testing.T) {
			t.Parallel()
			largeSessionSettles(t, Options{Short: short})
		})
	}
}

// largeSessionSettles is TestLargeSessionSettles for a session opened with
// opts: a short one (Options.Short) runs no compactors, and settles on
// Close all the same.
func largeSessionSettles(t *testing.T, opts Options) {
	dir := filepath.Join(t.TempDir(), "store")
	openTemp(t, dir, Options{Create: true}).Close()
	pileUpLevelZero(t, dir, 6)

	s := openTemp(t, dir, opts)
	if l0 := s.db.Levels()[0].NumTables; l0 < numLevelZeroTables || l0 >= compactL0At {
		t.Fatalf("setup: %d level-0 tables, want a backlog of at least %d and fewer than %d", l0, numLevelZeroTables, compactL0At)
	}
	content := make([]byte, 64<<10)
	var batch []objects.Object
	for i := range settleAfter/len(content) + 1 {
		copy(content, fmt.Sprintf("object %08d", i))
		batch = append(batch, objects.EncodeBlob(content))
	}
	if err := s.Put(t.Context(), batch...); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTemp(t, dir, Options{ReadOnly: true})
	defer s.Close()
	for _, l := range s.db.Levels() {
		if l.Level == 0 && l.NumTables > 0 || l.Level > 0 && l.Score >= 1 {
			t.Errorf("after a large session closed, level %d holds %d tables, %d bytes for a target of %d (score %.2f)",
				l.Level, l.NumTables, l.Size, l.TargetSize, l.Score)
		}
	}
}

// pileUpLevelZero writes about n level-0 tables into the store in dir with
// Badger's compactors off.
func pileUpLevelZero(t *testing.T, dir string, n int) {
	t.Helper()
	const memtable = 1 << 20
	bopts := badgerOptions(dir, false, nil, 0).
		WithNumCompactors(0).
		WithMemTableSize(memtable).
		WithValueThreshold(64 << 10)
	db, err := badger.Open(bopts)
	if err != nil {
		t.Fatal(err)
	}
	wb := db.NewWriteBatch()
	for i, written := 0, 0; written < n*memtable-memtable/2; i++ {
		o := docBlob(i)
		if err := wb.Set(objectKey(o.ID), o.Data); err != nil {
			t.Fatal(err)
		}
		written += len(o.Data) + 48
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLevelZeroMergeSparesLargeLevels: the close-time merge of level 0
// (compactL0At) goes into a small level, so it rewrites what recent short
// sessions wrote and not the bulk of the repository: the tables of the
// level holding the bulk are the same before and after it. A merge into
// that level would rewrite all of it (keys are hashes, so every level-0
// table overlaps every table below), which is the half-second stall a
// short command used to take once every few commands.
func TestLevelZeroMergeSparesLargeLevels(t *testing.T) {
	dir := storeWithBulk(t)
	bulk := tablesBelowLevelZero(t, dir)
	if len(bulk) == 0 {
		t.Fatal("setup: no table below level 0")
	}
	s := openTemp(t, dir, Options{ReadOnly: true})
	for _, l := range s.db.Levels() {
		if l.Level > 0 && l.Size > 0 && l.Size < 2*mergeBaseLevelSize {
			t.Fatalf("setup: level %d holds %d bytes, want at least %d", l.Level, l.Size, 2*mergeBaseLevelSize)
		}
	}
	s.Close()

	cur := shortSessions(t, dir, 2*compactL0At, nil)
	after := tablesBelowLevelZero(t, dir)
	for id, level := range bulk {
		if after[id] != level {
			t.Errorf("table %d of level %d was rewritten by a merge of level 0 (%d tables below level 0 before, %d after)", id, level, len(bulk), len(after))
		}
	}
	s = openTemp(t, dir, Options{ReadOnly: true})
	defer s.Close()
	if l0 := s.db.Levels()[0].NumTables; l0 >= compactL0At {
		t.Errorf("%d level-0 tables after %d short sessions", l0, 2*compactL0At)
	}
	if id, err := s.Ref(t.Context(), "refs/heads/main"); err != nil || id != cur {
		t.Errorf("the ref after the merges: %s, %v", id.Short(), err)
	}
}

// storeWithBulk makes a store whose data lies below level 0, as an
// import leaves it, and returns its folder.
func storeWithBulk(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	openTemp(t, dir, Options{Create: true}).Close()
	pileUpLevelZero(t, dir, numLevelZeroTablesStall-1)
	// The next opens merge that level 0 into the level below, where the
	// bulk stays (the first merges only the table of the format record,
	// which overlaps no other).
	openTemp(t, dir, Options{}).Close()
	openTemp(t, dir, Options{}).Close()
	return dir
}

// tablesBelowLevelZero maps the tables of levels 1 and below to their level.
func tablesBelowLevelZero(t *testing.T, dir string) map[uint64]int {
	t.Helper()
	s := openTemp(t, dir, Options{ReadOnly: true})
	defer s.Close()
	out := map[uint64]int{}
	for _, ti := range s.db.Tables() {
		if ti.Level > 0 {
			out[ti.ID] = ti.Level
		}
	}
	return out
}

// TestShortSessionStartsNoCompaction: Badger's compactors start at a
// random moment in the first second after Open; in a short session
// (Options.Short) none starts, so a command never waits on Close for a
// compaction it did not need. The store has a level-0 backlog that a
// compactor would take on at once; after more than a second open, a short
// session still sees the same tables, and Close writes what it put.
func TestShortSessionStartsNoCompaction(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	openTemp(t, dir, Options{Create: true}).Close()
	pileUpLevelZero(t, dir, 6)

	s := openTemp(t, dir, Options{Short: true})
	if l0 := s.db.Levels()[0].NumTables; l0 < numLevelZeroTables || l0 >= compactL0At {
		t.Fatalf("setup: %d level-0 tables, want a backlog of at least %d and fewer than %d", l0, numLevelZeroTables, compactL0At)
	}
	before := tableIDs(s)
	time.Sleep(1200 * time.Millisecond) // longer than Badger's random start delay
	if after := tableIDs(s); !slices.Equal(after, before) {
		t.Errorf("a short session's tables changed while it was open: a compaction ran (%v, then %v)", before, after)
	}
	o := objects.EncodeBlob([]byte("short"))
	if err := s.Put(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTemp(t, dir, Options{ReadOnly: true})
	defer s.Close()
	if has, err := s.Has(t.Context(), o.ID); err != nil || !has {
		t.Errorf("the object a short session put: %v, %v", has, err)
	}
}

// tableIDs lists the IDs of the store's tables, sorted.
func tableIDs(s *Store) []uint64 {
	var ids []uint64
	for _, ti := range s.db.Tables() {
		ids = append(ids, ti.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestShortSessionsKeepUpperLevelsSmall: short sessions (Options.Short)
// run no compactors, and their close-time merges of level 0 gather what
// they wrote in a small level above the bulk (TestLevelZeroMergeSparesLargeLevels).
// That level must not grow without bound: every merge rewrites all of it,
// so a laptop that commits for weeks without gc would stall a little
// longer every few commands. After short sessions have written three
// times what the bulk holds, the levels above the bottom one hold no more
// than a merge may gather before the store is flattened (mergeLevelLimit,
// for a store this small) and a merge's worth of level 0.
func TestShortSessionsKeepUpperLevelsSmall(t *testing.T) {
	t.Parallel()
	dir := storeWithBulk(t)
	bulk := levelBytes(t, dir)

	// Each session puts four objects of 128 KiB: as much as fits a short
	// session's memtable in LSM-stored objects, so that few sessions write
	// more than the bulk.
	const objectSize, perSession = 128 << 10, 4 * 128 << 10
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []objects.ID
	for written := int64(0); written < 3*bulk.total; written += perSession {
		s := openTemp(t, dir, Options{Short: true})
		for range perSession / objectSize {
			data := make([]byte, objectSize)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			o := objects.EncodeBlob(data)
			if err := s.Put(t.Context(), o); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, o.ID)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	after := levelBytes(t, dir)
	if limit := int64(mergeLevelLimit + compactL0At*perSession); after.upper > limit {
		t.Errorf("levels above the bottom hold %d of %d bytes after short sessions wrote %d (the bulk was %d); want at most %d",
			after.upper, after.total, int64(len(ids))*objectSize, bulk.total, limit)
	}
	s := openTemp(t, dir, Options{ReadOnly: true})
	defer s.Close()
	for i, id := range ids {
		if has, err := s.Has(t.Context(), id); err != nil || !has {
			t.Fatalf("object %d of the short sessions: %v, %v", i, has, err)
		}
	}
}

// levelSizes are the bytes of a store's tables: all of them, and those
// above the lowest level that holds any.
type levelSizes struct{ total, upper int64 }

func levelBytes(t *testing.T, dir string) levelSizes {
	t.Helper()
	s := openTemp(t, dir, Options{ReadOnly: true})
	defer s.Close()
	var sizes levelSizes
	bottom := 0
	for _, l := range s.db.Levels() {
		sizes.total += l.Size
		if l.Size > 0 {
			bottom = l.Level
		}
	}
	for _, l := range s.db.Levels() {
		if l.Level < bottom {
			sizes.upper += l.Size
		}
	}
	return sizes
}
