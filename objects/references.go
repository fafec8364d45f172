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
