package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// log and show print a commit's committer under its author when it has one
// (a doc-API write names its token), like git log --format=fuller, and
// print nothing more for commits people made themselves.
func TestCommitHeaderShowsCommitter(t *testing.T) {
	t.Parallel()
	c := &objects.Commit{Height: 1, Author: objects.Signature{Name: "Ada", Email: "ada@example.com"},
		Time: time.Unix(0, 0).UTC(), Message: "put a"}
	header := func() string {
		var buf bytes.Buffer
		w := newLineWriter(&buf)
		writeCommitHeader(w, c.Encode().ID, c)
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	if out := header(); strings.Contains(out, "Commit:") {
		t.Errorf("a commit without a committer shows one:\n%s", out)
	}
	c.Committer = objects.Signature{Name: "ci-writer", Email: "token@folio.invalid"}
	if out := header(); !strings.Contains(out, "Author: Ada <ada@example.com>\nCommit: ci-writer <token@folio.invalid>\n") {
		t.Errorf("the committer is not shown under the author:\n%s", out)
	}
}
