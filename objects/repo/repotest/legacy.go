// Package repotest helps tests build repositories as older folio versions
// left them. Tests import it; the folio command does not.
package repotest

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// CommitLegacy commits documents on a branch the way a repository written
// before the reserved-key rule (objects.ValidateNewKey) could hold them:
// straight into the index, checked by objects.ValidateKey only. It returns
// the commit, now the branch's head.
func CommitLegacy(ctx context.Context, r *repo.Repo, branchRef string, docs map[string]string, when time.Time) (objects.ID, error) {
	var edits []repo.Edit
	for key, content := range docs {
		e, err := r.WriteDocumentBytes(ctx, []byte(content))
		if err != nil {
			return objects.ID{}, err
		}
		edits = append(edits, repo.Edit{Key: key, Entry: e})
	}
	slices.SortFunc(edits, func(a, b repo.Edit) int { return strings.Compare(a.Key, b.Key) })
	head, err := r.RefOrZero(ctx, branchRef)
	if err != nil {
		return objects.ID{}, err
	}
	c := &objects.Commit{Author: objects.Signature{Name: "old folio", Email: "old@example.com"}, Time: when, Message: "legacy keys"}
	if !head.IsZero() {
		parent, err := r.ReadCommit(ctx, head)
		if err != nil {
			return objects.ID{}, err
		}
		c.Index, c.Conflicts, c.Parents = parent.Index, parent.Conflicts, []objects.ID{head}
	}
	if c.Index, err = r.Tree().Edit(ctx, c.Index, edits); err != nil {
		return objects.ID{}, err
	}
	id, err := r.WriteCommit(ctx, c)
	if err != nil {
		return objects.ID{}, err
	}
	return id, r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: branchRef, Old: head, New: id})
}
