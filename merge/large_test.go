package merge

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/folio-db/folio/merge/text"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// chunkedDoc stores a document as the given chunks (any sizes), so the
// chunk-level merge can be tested on small documents.
func chunkedDoc(t testing.TB, r *repo.Repo, chunks ...string) objects.Entry {
	t.Helper()
	ctx := context.Background()
	doc := objects.Chunked{}
	for _, c := range chunks {
		obj := objects.EncodeBlob([]byte(c))
		if err := r.Store().Put(ctx, obj); err != nil {
			t.Fatal(err)
		}
		doc.Chunks = append(doc.Chunks, objects.ChunkRef{ID: obj.ID, Size: uint64(len(c))})
		doc.Size += uint64(len(c))
	}
	obj := doc.Encode()
	if err := r.Store().Put(ctx, obj); err != nil {
		t.Fatal(err)
	}
	return objects.Entry{ID: obj.ID, Kind: objects.KindText, Size: doc.Size}
}

func TestMergeLargeText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name               string
		base, ours, theirs []string // chunks ("" base: none)
		winner             objects.Side
		limit              uint64
		want               string
		paths              []string
	}{
		{
			name:   "edits in different chunks both kept",
			base:   []string{"a1\na2\n", "b1\nb2\n", "c1\nc2\n"},
			ours:   []string{"A1\na2\n", "b1\nb2\n", "c1\nc2\n"},
			theirs: []string{"a1\na2\n", "b1\nb2\n", "c1\nC2\n"},
			winner: objects.SideTheirs, limit: 1 << 20,
			want: "A1\na2\nb1\nb2\nc1\nC2\n",
		},
		{
			name:   "edits of different lines of one chunk merge by line",
			base:   []string{"a1\na2\n", "b1\nb2\nb3\n", "c1\n"},
			ours:   []string{"a1\na2\n", "B1\nb2\nb3\n", "c1\n"},
			theirs: []string{"a1\na2\n", "b1\nb2\nB3\n", "c1\n"},
			winner: objects.SideTheirs, limit: 1 << 20,
			want: "a1\na2\nB1\nb2\nB3\nc1\n",
		},
		{
			name:   "a conflict names lines of the whole document",
			base:   []string{"a1\na2\n", "b1\nb2\nb3\n", "c1\n"},
			ours:   []string{"a1\na2\n", "b1\nOURS\nb3\n", "c1\n"},
			theirs: []string{"a1\nA2\n", "b1\nTHEIRS\nb3\n", "c1\n"},
			winner: objects.SideOurs, limit: 1 << 20,
			want: "a1\nA2\nb1\nOURS\nb3\nc1\n", paths: []string{"line 4"},
		},
		{
			name:   "chunks cut inside lines",
			base:   []string{"alpha be", "ta\ngamma\ndel", "ta\n"},
			ours:   []string{"ALPHA be", "ta\ngamma\ndel", "ta\n"},
			theirs: []string{"alpha be", "ta\ngamma\ndel", "TA\n"},
			winner: objects.SideOurs, limit: 1 << 20,
			want: "ALPHA beta\ngamma\ndelTA\n",
		},
		{
			// Issue 7's limit: a stretch both sides changed that is over
			// the limit is not merged; the winner's stretch stands, the
			// conflict names its lines, and edits elsewhere are kept.
			name:   "a changed stretch over the limit conflicts, edits elsewhere kept",
			base:   []string{"a1\n", "x\n", "b1\nb2\n", "c1\n"},
			ours:   []string{"A1\n", "x\n", "b1\nB2\n", "c1\n"},
			theirs: []string{"a1\n", "x\n", "B1\nb2\n", "c1\n"},
			winner: objects.SideTheirs, limit: 10,
			want: "A1\nx\nB1\nb2\nc1\n", paths: []string{"lines 3-4"},
		},
		{
			name:   "added on both sides: no base",
			ours:   []string{"x\n", "same\n"},
			theirs: []string{"y\n", "same\n"},
			winner: objects.SideOurs, limit: 1 << 20,
			want: "x\nsame\n", paths: []string{"at start"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newMemRepo(t)
			var base objects.Entry
			if tc.base != nil {
				base = chunkedDoc(t, r, tc.base...)
			}
			ours, theirs := chunkedDoc(t, r, tc.ours...), chunkedDoc(t, r, tc.theirs...)
			merged, paths, err := mergeLargeText(context.Background(), r, base, ours, theirs, tc.winner, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.ReadDocument(context.Background(), merged)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want || !slices.Equal(paths, tc.paths) {
				t.Errorf("merged %q, paths %q; want %q, %q", got, paths, tc.want, tc.paths)
			}
		})
	}
}

// The chunk-level merge agrees with the whole-document line merge when the
// changed stretches fit: same bytes, same conflict paths, on documents cut
// into chunks at content-defined places.
func TestMergeLargeTextAgreesWithTextMerge(t *testing.T) {
	t.Parallel()
	base := strings.Repeat("line one\nline two\nline three\n", 40)
	ours := strings.Replace(base, "two", "TWO", 3)
	theirs := strings.Replace(base, "three", "THREE", 5)
	theirs = strings.Replace(theirs, "line two\n", "line two (theirs)\n", 1)
	r := newMemRepo(t)
	for _, winner := range []objects.Side{objects.SideOurs, objects.SideTheirs} {
		checkLargeAgrees(t, r, base, ours, theirs, winner)
	}
}

// checkLargeAgrees merges three texts cut into content-defined chunks and
// checks the result against text.Merge of the whole texts.
// Empty texts are skipped: a chunked document has at least one chunk.
func checkLargeAgrees(t *testing.T, r *repo.Repo, base, ours, theirs string, winner objects.Side) {
	t.Helper()
	if base == "" || ours == "" || theirs == "" {
		return
	}
	entry := func(s string) objects.Entry { return chunkedDoc(t, r, cutAtWords(s)...) }
	merged, paths, err := mergeLargeText(context.Background(), r, entry(base), entry(ours), entry(theirs), winner, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadDocument(context.Background(), merged)
	if err != nil {
		t.Fatal(err)
	}
	whole := text.Merge([]byte(base), []byte(ours), []byte(theirs))
	if whole.Conflicts == 0 && (len(paths) != 0 || string(got) != string(whole.Resolve(winner))) {
		t.Errorf("the whole merge is clean, %q; the chunked merge is %q with conflicts %q", whole.Resolve(winner), got, paths)
	}
	for _, identity := range []struct{ same, other string }{{ours, theirs}, {theirs, ours}} {
		if identity.same == base && (len(paths) != 0 || string(got) != identity.other) {
			t.Errorf("one side unchanged: merged %q with conflicts %q, want the other side %q", got, paths, identity.other)
		}
	}
}

// cutAtWords cuts text after every "e" that follows "n": content-defined
// cuts, sometimes inside lines, that come back after an edit.
func cutAtWords(s string) []string {
	var out []string
	for len(s) > 0 {
		i := strings.Index(s, "ne")
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i+2])
		s = s[i+2:]
	}
	return out
}

func FuzzMergeLargeText(f *testing.F) {
	f.Add("one\ntwo\nthree\n", "one\nTWO\nthree\n", "one\ntwo\nTHREE\n")
	f.Add("a\nnone\nb\n", "a\nnone\nB\n", "A\nnone\nb\n")
	r := newMemRepo(f)
	f.Fuzz(func(t *testing.T, base, ours, theirs string) {
		if len(base)+len(ours)+len(theirs) > 4096 {
			return
		}
		checkLargeAgrees(t, r, base, ours, theirs, objects.SideOurs)
	})
}
