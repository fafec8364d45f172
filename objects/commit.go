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
type Commit struct {
	Index     ID   // root of the index map (zero: empty)
	Conflicts ID   // root of the conflicts map (zero: no conflicts)
	Parents   []ID // ordered; a merge has two or more
	Height    uint64
	Author    Signature
	Time      time.Time // with its zone offset
	Message   string
}

// MaxParents bounds the parents of one commit.
const MaxParents = 64

// Encode returns the canonical encoding and its ID. The time keeps its
// zone offset but not its zone name; the location of a decoded time is a
// fixed zone.
func (c *Commit) Encode() Object { return newObject(c.encode()) }

func (c *Commit) encode() []byte {
	e := newEncoder(TypeCommit, 2*IDSize+len(c.Parents)*IDSize+len(c.Message)+64)
	e.id(c.Index)
	e.id(c.Conflicts)
	e.uvarint(uint64(len(c.Parents)))
	for _, p := range c.Parents {
		e.id(p)
	}
	e.uvarint(c.Height)
	e.string(c.Author.Name)
	e.string(c.Author.Email)
	_, offset := c.Time.Zone()
	e.varint(c.Time.Unix())
	e.uvarint(uint64(c.Time.Nanosecond()))
	e.varint(int64(offset))
	e.string(c.Message)
	return e.buf
}

// DecodeCommit decodes a commit and checks its structure.
func DecodeCommit(data []byte) (*Commit, error) {
	d := newDecoder(data, TypeCommit)
	c := &Commit{Index: d.id(), Conflicts: d.id()}
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
	sec, nsec, offset := d.varint(), d.uvarint(), d.varint()
	c.Message = d.string()
	if d.err == nil {
		switch {
		case nsec >= 1e9:
			d.fail("nanoseconds %d", nsec)
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
