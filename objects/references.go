package objects

// References returns the IDs an encoded object points at: the objects that
// must be stored before it for the store to stay closed. A blob points at
// nothing; a chunked document at its chunks; a node at its children or, in
// a leaf, at its documents (or conflict records); a commit at its maps and
// parents; a conflict record at the versions it keeps; a working set at its
// commits and maps. A conflict record's head commits are not references:
// they may be virtual merge bases that exist on one leader only. Zero IDs (absent) are left out.
func References(data []byte) ([]ID, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, err
	}
	var refs []ID
	add := func(ids ...ID) {
		for _, id := range ids {
			if !id.IsZero() {
				refs = append(refs, id)
			}
		}
	}
	switch o := v.(type) {
	case *Chunked:
		for _, ch := range o.Chunks {
			add(ch.ID)
		}
	case *Node:
		for _, it := range o.Items {
			add(it.Entry.ID)
		}
	case *Commit:
		add(o.Index, o.Conflicts)
		add(o.Parents...)
	case *Conflict:
		add(o.Base.ID, o.Ours.ID, o.Theirs.ID)
		add(o.Replaces...)
	case *WorkingSet:
		add(o.Base, o.Index, o.Conflicts, o.MergeHead)
	}
	return refs, nil
}

// Reference ranks (ReferenceRank): a class in the top byte, an order
// within the class below it.
const (
	rankClassShift = 56
	maxRankHeight  = 1<<rankClassShift - 1
)

// ConflictRank is the rank of every conflict record (ReferenceRank).
const ConflictRank = 3 << rankClassShift

// ReferenceRank orders objects by what they reference: an object
// references only objects of a greater rank, except a conflict record,
// which may reference records of its own rank (those it replaces). Working
// sets come first, then commits from the highest down, map nodes from the
// top level down, conflict records, chunked documents, and blobs last.
// Deleting objects in rank order (and a conflict record only after every
// record that replaces it) so never leaves a stored object that references
// a deleted one. It reads a header only (a commit's, down to its height).
// Bytes that are no object this build knows rank first (0): nothing can
// follow what they name.
func ReferenceRank(data []byte) uint64 {
	t, err := TypeOf(data)
	if err != nil {
		return 0
	}
	switch t {
	case TypeCommit:
		return 1<<rankClassShift | maxRankHeight - min(commitHeight(data), maxRankHeight)
	case TypeNode:
		if len(data) <= HeaderSize {
			return 0
		}
		return 2<<rankClassShift | uint64(255-data[HeaderSize])
	case TypeConflict:
		return ConflictRank
	case TypeChunked:
		return 4 << rankClassShift
	case TypeBlob:
		return 5 << rankClassShift
	}
	return 0 // a working set: nothing references it
}

// commitHeight reads an encoded commit's height without decoding the rest
// (0 if it cannot: a damaged commit).
func commitHeight(data []byte) uint64 {
	d := newDecoder(data, TypeCommit)
	d.id() // index
	d.id() // conflicts
	for range d.count(IDSize) {
		d.id()
	}
	h := d.uvarint()
	if d.err != nil {
		return 0
	}
	return h
}
