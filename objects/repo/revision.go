package repo

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/folio-db/folio/objects"
)

// MinAbbrev is the shortest abbreviated commit ID accepted.
const MinAbbrev = 4

// ResolveRevision turns a revision into a commit ID. A revision is a base
// — HEAD, a branch, tag or remote-tracking branch name, a full ref name, or
// a full or unique abbreviated commit ID — followed by any number of ~N
// (N-th first-parent ancestor) and ^N (N-th parent) steps.
func (r *Repo) ResolveRevision(ctx context.Context, rev string) (objects.ID, error) {
	base, steps := rev, ""
	if i := strings.IndexAny(rev, "~^"); i >= 0 {
		base, steps = rev[:i], rev[i:]
	}
	id, err := r.resolveBase(ctx, base)
	if err != nil {
		return objects.ID{}, err
	}
	for steps != "" {
		op := steps[0]
		j := 1
		for j < len(steps) && steps[j] >= '0' && steps[j] <= '9' {
			j++
		}
		n := 1
		if j > 1 {
			if n, err = strconv.Atoi(steps[1:j]); err != nil {
				return objects.ID{}, fmt.Errorf("%w: %q", ErrUnknownRevision, rev)
			}
		}
		if j < len(steps) && steps[j] != '~' && steps[j] != '^' {
			return objects.ID{}, fmt.Errorf("%w: %q", ErrUnknownRevision, rev)
		}
		steps = steps[j:]
		if id, err = r.step(ctx, id, op, n, rev); err != nil {
			return objects.ID{}, err
		}
	}
	return id, nil
}

func (r *Repo) step(ctx context.Context, id objects.ID, op byte, n int, rev string) (objects.ID, error) {
	if op == '^' {
		if n == 0 {
			return id, nil
		}
		c, err := r.ReadCommit(ctx, id)
		if err != nil {
			return objects.ID{}, err
		}
		if n > len(c.Parents) {
			return objects.ID{}, fmt.Errorf("%w: %q: %s has %d parents", ErrUnknownRevision, rev, id.Short(), len(c.Parents))
		}
		return c.Parents[n-1], nil
	}
	for range n {
		c, err := r.ReadCommit(ctx, id)
		if err != nil {
			return objects.ID{}, err
		}
		if len(c.Parents) == 0 {
			return objects.ID{}, fmt.Errorf("%w: %q goes past the first commit", ErrUnknownRevision, rev)
		}
		id = c.Parents[0]
	}
	return id, nil
}

func (r *Repo) resolveBase(ctx context.Context, name string) (objects.ID, error) {
	if name == "" {
		return objects.ID{}, fmt.Errorf("%w: empty revision", ErrUnknownRevision)
	}
	if name == "HEAD" || name == "@" {
		ref, err := r.HeadRef()
		if err != nil {
			return objects.ID{}, err
		}
		id, err := r.RefOrZero(ctx, ref)
		if err == nil && id.IsZero() {
			return id, fmt.Errorf("%w: HEAD (%s has no commits yet)", ErrNoCommits, strings.TrimPrefix(ref, objects.BranchPrefix))
		}
		return id, err
	}
	for _, prefix := range []string{"", objects.BranchPrefix, objects.TagPrefix, objects.RemotePrefix} {
		full := prefix + name
		if (prefix == "" && !strings.HasPrefix(name, "refs/")) || objects.ValidateRefName(full) != nil {
			continue
		}
		id, err := r.store.Ref(ctx, full)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, objects.ErrNotFound) {
			return objects.ID{}, err
		}
	}
	return r.resolveAbbrev(ctx, name)
}

// resolveAbbrev finds the one commit whose ID starts with the hex prefix.
func (r *Repo) resolveAbbrev(ctx context.Context, name string) (objects.ID, error) {
	lower := strings.ToLower(name)
	if len(lower) < MinAbbrev || len(lower) > 2*objects.IDSize || strings.Trim(lower, "0123456789abcdef") != "" {
		return objects.ID{}, fmt.Errorf("%w: %q is not a branch, tag or commit", ErrUnknownRevision, name)
	}
	if len(lower) == 2*objects.IDSize {
		id, err := objects.ParseID(lower)
		if err != nil {
			return id, err
		}
		if _, err := r.ReadCommit(ctx, id); err != nil {
			return objects.ID{}, fmt.Errorf("%w: %s: %v", ErrUnknownRevision, name, err)
		}
		return id, nil
	}
	prefix, _ := hex.DecodeString(lower[:len(lower)/2*2])
	var matches []objects.ID
	err := r.store.Objects(ctx, prefix, func(id objects.ID, data []byte) error {
		if strings.HasPrefix(id.String(), lower) && len(data) > 0 && objects.Type(data[0]) == objects.TypeCommit {
			matches = append(matches, id)
		}
		return nil
	})
	if err != nil {
		return objects.ID{}, err
	}
	switch len(matches) {
	case 0:
		return objects.ID{}, fmt.Errorf("%w: %q is not a branch, tag or commit", ErrUnknownRevision, name)
	case 1:
		return matches[0], nil
	}
	return objects.ID{}, fmt.Errorf("%w: %q matches %d commits; give more digits", ErrAmbiguous, name, len(matches))
}

// ResolveDocument resolves "REV:KEY" to the commit and the entry.
func (r *Repo) ResolveDocument(ctx context.Context, rev, key string) (objects.ID, objects.Entry, error) {
	id, err := r.ResolveRevision(ctx, rev)
	if err != nil {
		return id, objects.Entry{}, err
	}
	c, err := r.ReadCommit(ctx, id)
	if err != nil {
		return id, objects.Entry{}, err
	}
	e, err := r.Lookup(ctx, c.Index, key)
	return id, e, err
}
