package merge

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/memstore"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
)

// epoch is the time of the first commit in tests; commits made "at" n are
// n seconds later, so commit IDs are the same on every run.
var epoch = time.Unix(1_700_000_000, 0).UTC()

var tester = objects.Signature{Name: "Tess", Email: "tess@example.com"}

// newMemRepo is a repository whose objects live in memory: for the many
// small merges of table and property tests.
func newMemRepo(t testing.TB) *repo.Repo {
	t.Helper()
	r, err := repo.Init(context.Background(), t.TempDir(), "", repo.Options{Store: memstore.New()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// newDiskRepo is a repository on a real Badger store in a temp dir.
func newDiskRepo(t testing.TB) *repo.Repo {
	t.Helper()
	r, err := repo.Init(context.Background(), t.TempDir(), "", repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// docs is a set of documents by key; the zero map is the empty index.
type docs map[string]string

// writeIndex stores the documents and a map of them, returning its root.
func writeIndex(t testing.TB, r *repo.Repo, d docs) objects.ID {
	t.Helper()
	ctx := context.Background()
	var edits []prolly.Edit
	for _, k := range slices.Sorted(maps.Keys(d)) {
		e, err := r.WriteDocumentBytes(ctx, []byte(d[k]))
		if err != nil {
			t.Fatal(err)
		}
		edits = append(edits, prolly.Edit{Key: k, Entry: e})
	}
	root, err := r.Tree().Edit(ctx, objects.ID{}, edits)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// commitSpec describes a commit to write.
type commitSpec struct {
	parents   []objects.ID
	at        int64 // seconds after epoch
	msg       string
	index     objects.ID
	conflicts objects.ID
	author    objects.Signature
}

func writeCommit(t testing.TB, r *repo.Repo, s commitSpec) objects.ID {
	t.Helper()
	if s.author == (objects.Signature{}) {
		s.author = tester
	}
	// The commit time is at, or its latest parent's when at is earlier:
	// commit times never go back.
	at := epoch.Add(time.Duration(s.at) * time.Second)
	commitTime := at
	for _, p := range s.parents {
		if pt := readCommit(t, r, p).CommitTime; pt.After(commitTime) {
			commitTime = pt
		}
	}
	id, err := r.WriteCommit(context.Background(), &objects.Commit{
		Index: s.index, Conflicts: s.conflicts, Parents: s.parents,
		Author: s.author, Time: at, CommitTime: commitTime, Message: s.msg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// commitDocs writes a commit whose index holds exactly d.
func commitDocs(t testing.TB, r *repo.Repo, msg string, at int64, d docs, parents ...objects.ID) objects.ID {
	t.Helper()
	return writeCommit(t, r, commitSpec{parents: parents, at: at, msg: msg, index: writeIndex(t, r, d)})
}

// readDocs returns every document of an index.
func readDocs(t testing.TB, r *repo.Repo, root objects.ID) docs {
	t.Helper()
	ctx := context.Background()
	out := docs{}
	err := r.Tree().Iterate(ctx, root, "", "", func(key string, e objects.Entry) error {
		content, err := r.ReadDocument(ctx, e)
		if err != nil {
			return err
		}
		if want := objects.DetectKind(content); e.Kind != want {
			t.Errorf("%s: entry kind %s, content is %s", key, e.Kind, want)
		}
		out[key] = string(content)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readConflicts returns every record of a conflicts map by key, checking
// that each record is filed under its own key.
func readConflicts(t testing.TB, r *repo.Repo, root objects.ID) map[string]*objects.Conflict {
	t.Helper()
	ctx := context.Background()
	out := map[string]*objects.Conflict{}
	err := r.Tree().Iterate(ctx, root, "", "", func(key string, e objects.Entry) error {
		if e.Kind != objects.KindConflict {
			t.Errorf("conflicts map entry %s has kind %s", key, e.Kind)
		}
		data, err := r.Store().Get(ctx, e.ID)
		if err != nil {
			return err
		}
		c, err := objects.DecodeConflict(data)
		if err != nil {
			return err
		}
		if c.Key != key {
			t.Errorf("record for %q is filed under %q", c.Key, key)
		}
		out[key] = c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lookup returns the entry of key in an index (zero when absent).
func lookup(t testing.TB, r *repo.Repo, root objects.ID, key string) objects.Entry {
	t.Helper()
	e, found, err := r.Tree().Get(context.Background(), root, key)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return objects.Entry{}
	}
	return e
}

// readCommit reads a commit or fails the test.
func readCommit(t testing.TB, r *repo.Repo, id objects.ID) *objects.Commit {
	t.Helper()
	c, err := r.ReadCommit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// copyObjects puts every object of src that dst lacks into dst, as a fetch
// would.
func copyObjects(t testing.TB, dst, src objects.Store) {
	t.Helper()
	ctx := context.Background()
	var batch []objects.Object
	err := src.Objects(ctx, nil, func(id objects.ID, data []byte) error {
		has, err := dst.Has(ctx, id)
		if err != nil || has {
			return err
		}
		batch = append(batch, objects.Object{ID: id, Data: append([]byte(nil), data...)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.Put(ctx, batch...); err != nil {
		t.Fatal(err)
	}
}
