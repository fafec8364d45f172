package objects

import "fmt"

// Side names one side of a merge. Ours is the first head in the merge's
// order, theirs the second.
type Side uint8

// Merge sides.
const (
	SideOurs   Side = 1
	SideTheirs Side = 2
)

func (s Side) String() string {
	switch s {
	case SideOurs:
		return "ours"
	case SideTheirs:
		return "theirs"
	}
	return fmt.Sprintf("side(%d)", uint8(s))
}

// MarshalText shows a side by name in JSON output.
func (s Side) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a side by name, so reports in JSON read back.
func (s *Side) UnmarshalText(b []byte) error {
	for _, side := range []Side{SideOurs, SideTheirs} {
		if string(b) == side.String() {
			*s = side
			return nil
		}
	}
	return fmt.Errorf("side %q: want ours or theirs", b)
}

// Conflict records a document whose merge conflicted: the three versions
// that met (a zero Entry.ID means absent on that side: not yet created, or
// deleted), the two head commits, which side won the conflicting regions,
// and where in the document the conflicts are (RFC 6901 pointers for JSON,
// line ranges for text, empty for a whole-document conflict). The merged
// document itself is in the index; nothing of the losing side is lost
// because the record keeps it whole.
type Conflict struct {
	Key          string
	Base         Entry
	Ours         Entry
	Theirs       Entry
	OursCommit   ID
	TheirsCommit ID
	Winner       Side
	Paths        []string
	// Replaces lists the records this one supersedes (sorted, unique): a
	// later conflict on the same document keeps the earlier records, and
	// so every losing version, reachable.
	Replaces []ID
}

// MaxConflictPaths bounds the locations one record lists.
const MaxConflictPaths = 1 << 16

// MaxReplaces bounds the earlier records one record keeps.
const MaxReplaces = 64

// Encode returns the canonical encoding and its ID.
func (c *Conflict) Encode() Object { return newObject(c.encode()) }

func (c *Conflict) encode() []byte {
	e := newEncoder(TypeConflict, len(c.Key)+5*IDSize+64)
	e.string(c.Key)
	for _, en := range []Entry{c.Base, c.Ours, c.Theirs} {
		e.id(en.ID)
		e.byte(byte(en.Kind))
		e.uvarint(en.Size)
	}
	e.id(c.OursCommit)
	e.id(c.TheirsCommit)
	e.byte(byte(c.Winner))
	e.uvarint(uint64(len(c.Paths)))
	for _, p := range c.Paths {
		e.string(p)
	}
	e.uvarint(uint64(len(c.Replaces)))
	for _, id := range c.Replaces {
		e.id(id)
	}
	return e.buf
}

// DecodeConflict decodes a conflict record and checks its structure.
func DecodeConflict(data []byte) (*Conflict, error) {
	d := newDecoder(data, TypeConflict)
	c := &Conflict{Key: d.string()}
	for _, en := range []*Entry{&c.Base, &c.Ours, &c.Theirs} {
		en.ID = d.id()
		en.Kind = Kind(d.byte())
		en.Size = d.uvarint()
		if d.err == nil && en.ID.IsZero() != (en.Kind == 0) {
			d.fail("entry %s has kind %d", en.ID.Short(), en.Kind)
		}
		if d.err == nil && en.ID.IsZero() && en.Size != 0 {
			d.fail("absent entry with size %d", en.Size)
		}
		if d.err == nil && en.Kind != 0 && (!en.Kind.valid() || en.Kind == KindConflict) {
			d.fail("unknown kind %d", en.Kind)
		}
	}
	c.OursCommit = d.id()
	c.TheirsCommit = d.id()
	c.Winner = Side(d.byte())
	n := d.count(1)
	if d.err == nil && n > MaxConflictPaths {
		d.fail("%d paths", n)
	}
	for range n {
		c.Paths = append(c.Paths, d.string())
	}
	n = d.count(IDSize)
	if d.err == nil && n > MaxReplaces {
		d.fail("replaces %d records", n)
	}
	for i := range n {
		c.Replaces = append(c.Replaces, d.id())
		if d.err == nil && (c.Replaces[i].IsZero() || i > 0 && c.Replaces[i-1].Compare(c.Replaces[i]) >= 0) {
			d.fail("replaced records zero, unsorted or repeated")
		}
	}
	if d.err == nil {
		if err := ValidateKey(c.Key); err != nil {
			d.fail("%v", err)
		}
		if c.Winner != SideOurs && c.Winner != SideTheirs {
			d.fail("winner %d", c.Winner)
		}
		if c.OursCommit.IsZero() || c.TheirsCommit.IsZero() {
			d.fail("a head commit is missing")
		}
		if c.Ours.ID.IsZero() && c.Theirs.ID.IsZero() {
			d.fail("both sides absent")
		}
	}
	return c, d.finish(func() []byte { return c.encode() })
}

// WorkingSet is the staged state of one branch, kept in the store as an
// object that a working-set ref points at. Base is the commit the branch
// pointed at when staging began (zero for a branch with no commits); a
// commit succeeds only if the branch still points there. Index and
// Conflicts are the staged maps. MergeHead is set while a merge made with
// --no-commit waits to be committed, with its prepared message.
type WorkingSet struct {
	Base         ID
	Index        ID
	Conflicts    ID
	MergeHead    ID
	MergeMessage string
}

// Encode returns the canonical encoding and its ID.
func (w *WorkingSet) Encode() Object { return newObject(w.encode()) }

func (w *WorkingSet) encode() []byte {
	e := newEncoder(TypeWorkingSet, 4*IDSize+len(w.MergeMessage)+2)
	e.id(w.Base)
	e.id(w.Index)
	e.id(w.Conflicts)
	e.id(w.MergeHead)
	e.string(w.MergeMessage)
	return e.buf
}

// DecodeWorkingSet decodes a working set.
func DecodeWorkingSet(data []byte) (*WorkingSet, error) {
	d := newDecoder(data, TypeWorkingSet)
	w := &WorkingSet{Base: d.id(), Index: d.id(), Conflicts: d.id(), MergeHead: d.id(), MergeMessage: d.string()}
	if d.err == nil && w.MergeHead.IsZero() && w.MergeMessage != "" {
		d.fail("a merge message without a merge head")
	}
	return w, d.finish(func() []byte { return w.encode() })
}
