package objects_test

import (
	"errors"
	"testing"
	"time"

	"github.com/folio-db/folio/objects"
)

// A commit keeps its author date (settable, with its zone) and its commit
// time (the leader's hybrid logical clock, in UTC) apart: both survive a
// round trip, and changing either changes the commit's ID.
func TestCommitTimeIsSeparateFromAuthorDate(t *testing.T) {
	t.Parallel()
	author := time.Date(2099, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600))
	clock := time.Date(2026, 12, 3, 21, 0, 0, 7, time.UTC)
	c := &objects.Commit{Height: 1, Author: objects.Signature{Name: "a", Email: "a@b"},
		Time: author, CommitTime: clock, Message: "m"}
	got, err := objects.DecodeCommit(c.Encode().Data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(author) || !got.CommitTime.Equal(clock) {
		t.Fatalf("decoded author date %s, commit time %s; want %s and %s", got.Time, got.CommitTime, author, clock)
	}
	if got.CommitTime.Location() != time.UTC {
		t.Errorf("commit time in %s, want UTC", got.CommitTime.Location())
	}
	other := *c
	other.CommitTime = clock.Add(time.Nanosecond)
	if other.Encode().ID == c.Encode().ID {
		t.Error("the commit time is not part of the encoding")
	}
	if data := c.Encode().Data; data[1] != 2 {
		t.Errorf("a new commit without a committer is written in format %d, want 2", data[1])
	}
}

// Commits written before commit times existed (commit format 1) still
// decode, byte for byte: their commit time is their author date, the only
// time they carry. A commit format this build does not know is refused.
func TestCommitFormat1StillDecodes(t *testing.T) {
	t.Parallel()
	// A format-1 root commit: no parents, height 1, author "a" <a@b>,
	// 2024-03-01 12:00:00 UTC, message "old".
	v1 := append([]byte{byte(objects.TypeCommit), 1}, make([]byte, 2*objects.IDSize)...)
	v1 = append(v1, 0, 1, 1, 'a', 3, 'a', '@', 'b')
	v1 = appendVarint(v1, time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC).Unix())
	v1 = append(v1, 0, 0, 3, 'o', 'l', 'd')
	c, err := objects.DecodeCommit(v1)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Legacy || !c.CommitTime.Equal(c.Time) {
		t.Errorf("format-1 commit: legacy %v, commit time %s, author date %s", c.Legacy, c.CommitTime, c.Time)
	}
	if obj := c.Encode(); string(obj.Data) != string(v1) || obj.ID != objects.Hash(v1) {
		t.Error("a format-1 commit does not re-encode to its own bytes")
	}
	if err := objects.Verify(objects.Hash(v1), v1); err != nil {
		t.Errorf("verify a format-1 commit: %v", err)
	}
	future := append([]byte(nil), v1...)
	future[1] = objects.CommitFormatVersion + 1
	if _, err := objects.DecodeCommit(future); !errors.Is(err, objects.ErrUnknownFormat) {
		t.Errorf("commit format %d: %v, want ErrUnknownFormat", future[1], err)
	}
	// Formats 2 and 3 belong to commits only.
	blob := []byte{byte(objects.TypeBlob), objects.CommitFormatVersion, 'x'}
	if _, err := objects.TypeOf(blob); !errors.Is(err, objects.ErrUnknownFormat) {
		t.Errorf("a blob in format %d: %v, want ErrUnknownFormat", objects.CommitFormatVersion, err)
	}
}

func appendVarint(b []byte, v int64) []byte {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}
