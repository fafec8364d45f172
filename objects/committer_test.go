package objects_test

import (
	"errors"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// A commit may name a committer apart from its author (the doc API records
// the writing token's name): it survives a round trip, is part of the ID,
// and only such commits use commit format 3, so every commit without a
// committer keeps the bytes and ID it had in format 2.
func TestCommitCommitter(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	plain := &objects.Commit{Height: 1, Author: objects.Signature{Name: "app", Email: "app@example.com"},
		Time: when, CommitTime: when, Message: "put a"}
	signed := *plain
	signed.Committer = objects.Signature{Name: "ci-token", Email: "api@folio.invalid"}

	if v := plain.Encode().Data[1]; v != 2 {
		t.Errorf("a commit without a committer is written in format %d, want 2", v)
	}
	data := signed.Encode().Data
	if data[1] != objects.CommitFormatVersion || objects.CommitFormatVersion != 3 {
		t.Errorf("a commit with a committer is written in format %d (current %d), want 3", data[1], objects.CommitFormatVersion)
	}
	if signed.Encode().ID == plain.Encode().ID {
		t.Error("the committer is not part of the commit's ID")
	}
	got, err := objects.DecodeCommit(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Committer != signed.Committer || got.Author != signed.Author {
		t.Errorf("decoded author %v committer %v, want %v and %v", got.Author, got.Committer, signed.Author, signed.Committer)
	}
	if err := objects.Verify(objects.Hash(data), data); err != nil {
		t.Errorf("verify a format-3 commit: %v", err)
	}

	// Format 3 with an empty committer is not canonical (that commit is
	// format 2): the two empty strings go right after the author.
	v2 := plain.Encode().Data
	at := objects.HeaderSize + 2*objects.IDSize + 1 + 1 + 1 + len("app") + 1 + len("app@example.com")
	empty := append(append(append([]byte{}, v2[:at]...), 0, 0), v2[at:]...)
	empty[1] = 3
	if _, err := objects.DecodeCommit(empty); !errors.Is(err, objects.ErrCorrupt) {
		t.Errorf("format 3 with an empty committer: %v, want ErrCorrupt", err)
	}
	// A format-2 commit never carries one: its bytes after the author are the times.
	asV2 := append([]byte(nil), data...)
	asV2[1] = 2
	if _, err := objects.DecodeCommit(asV2); err == nil {
		t.Error("a format-3 body labelled format 2 decoded")
	}
}
