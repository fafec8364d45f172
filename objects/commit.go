package objects

import (
	"slices"
	"time"
)

// Signature names who made a commit.
type Signature struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// String formats a signature as "Name <email>".
func (s Signature) String() string { return s.Name + " <" + s.Email + ">" }

// Commit is one version of the whole repository.
//
// A commit carries two times. Time is the author date: when the author
// says the change was made, settable (FOLIO_AUTHOR_DATE), shown by log and
// never used to decide anything. CommitTime is the leader's hybrid logical
// clock when it made the commit: its clock, but never earlier than a
// parent's commit time. Conflict winners and history order use CommitTime.
type Commit struct {
	Index     ID   // root of the index map (zero: empty)
	Conflicts ID   // root of the conflicts map (zero: no conflicts)
	Parents   []ID // ordered; a merge has two or more
	Height    uint64
	Author    Signature
	// Committer is who wrote the commit on the author's behalf, when that
	// is someone else: the doc API records the writing token's name here.
	// Zero for commits people make themselves.
	Committer  Signature
	Time       time.Time // author date, with its zone offset
	CommitTime time.Time // hybrid logical clock, kept in UTC
	Message    string
	// Legacy marks a commit of commit format 1, written before commit
	// times existed: it re-encodes in format 1, and its CommitTime is its
	// author date. New commits are never legacy.
	Legacy bool
}

// CommitFormatVersion is the newest format version of commits: 2 added
// the commit time, 3 a committer. A commit without a committer is still
// written in format 2, so its bytes and ID do not depend on this build;
// format-1 commits still decode (see Commit.Legacy). Every other object
// type is in FormatVersion.
const CommitFormatVersion = 3

const (
	// legacyCommitVersion is the commit format without a commit time.
	legacyCommitVersion = 1
	// timedCommitVersion is the commit format without a committer.
	timedCommitVersion = 2
)

// MaxParents bounds the parents of one commit.
const MaxParents = 64

// Encode returns the canonical encoding and its ID. The time keeps its
// zone offset but not its zone name; the location of a decoded time is a
// fixed zone.
func (c *Commit) Encode() Object { return newObject(c.encode()) }

func (c *Commit) encode() []byte {
	e := newEncoder(TypeCommit, 2*IDSize+len(c.Parents)*IDSize+len(c.Message)+80)
	e.buf[1] = c.version()
	e.id(c.Index)
	e.id(c.Conflicts)
	e.uvarint(uint64(len(c.Parents)))
	for _, p := range c.Parents {
		e.id(p)
	}
	e.uvarint(c.Height)
	e.string(c.Author.Name)
	e.string(c.Author.Email)
	if c.version() == CommitFormatVersion {
		e.string(c.Committer.Name)
		e.string(c.Committer.Email)
	}
	_, offset := c.Time.Zone()
	e.varint(c.Time.Unix())
	e.uvarint(uint64(c.Time.Nanosecond()))
	e.varint(int64(offset))
	if !c.Legacy {
		e.varint(c.CommitTime.Unix())
		e.uvarint(uint64(c.CommitTime.Nanosecond()))
	}
	e.string(c.Message)
	return e.buf
}

func (c *Commit) version() byte {
	switch {
	case c.Legacy:
		return legacyCommitVersion
	case c.Committer == Signature{}:
		return timedCommitVersion
	}
	return CommitFormatVersion
}

// DecodeCommit decodes a commit and checks its structure.
func DecodeCommit(data []byte) (*Commit, error) {
	d := newDecoder(data, TypeCommit)
	c := &Commit{Legacy: d.err == nil && data[1] == legacyCommitVersion}
	c.Index, c.Conflicts = d.id(), d.id()
	n := d.count(IDSize)
	if d.err == nil && n > MaxParents {
		d.fail("%d parents", n)
	}
	for range n {
		c.Parents = append(c.Parents, d.id())
	}
	c.Height = d.uvarint()
	c.Author.Name = d.string()
	c.Author.Email = d.string()
	if d.err == nil && data[1] == CommitFormatVersion {
		c.Committer.Name = d.string()
		c.Committer.Email = d.string()
	}
	sec, nsec, offset := d.varint(), d.uvarint(), d.varint()
	commitSec, commitNsec := sec, nsec
	if !c.Legacy {
		commitSec, commitNsec = d.varint(), d.uvarint()
	}
	c.Message = d.string()
	if d.err == nil {
		switch {
		case nsec >= 1e9, commitNsec >= 1e9:
			d.fail("nanoseconds %d, %d", nsec, commitNsec)
		case offset <= -24*3600 || offset >= 24*3600:
			d.fail("zone offset %d s", offset)
		case slices.Contains(c.Parents, ID{}):
			d.fail("zero parent ID")
		case hasDuplicates(c.Parents):
			d.fail("a parent listed twice")
		case len(c.Parents) == 0 && c.Height != 1, len(c.Parents) > 0 && c.Height < 2:
			d.fail("height %d with %d parents", c.Height, len(c.Parents))
		}
	}
	c.Time = time.Unix(sec, int64(nsec)).In(zone(int(offset)))
	c.CommitTime = time.Unix(commitSec, int64(commitNsec)).UTC()
	return c, d.finish(func() []byte { return c.encode() })
}

// zone returns a fixed zone for an offset, named like "+0200" so that
// formatted times read as Git's do.
func zone(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	sign, abs := '+', offset
	if offset < 0 {
		sign, abs = '-', -offset
	}
	name := string(sign) + twoDigits(abs/3600) + twoDigits(abs%3600/60)
	return time.FixedZone(name, offset)
}

func twoDigits(n int) string {
	return string([]byte{byte('0' + n/10%10), byte('0' + n%10)})
}

func hasDuplicates(ids []ID) bool {
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			if ids[i] == ids[j] {
				return true
			}
		}
	}
	return false
}
