package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/folio-db/folio/merge/jsonmerge"
	"github.com/folio-db/folio/merge/text"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
	"github.com/folio-db/folio/objects/repo"
)

// docChange is one changed document in diff and status output.
type docChange struct {
	Key    string             `json:"key"`
	Change string             `json:"change"` // added, modified, removed
	Kind   objects.Kind       `json:"kind"`
	From   *objects.ID        `json:"from,omitempty"`
	To     *objects.ID        `json:"to,omitempty"`
	Paths  []jsonmerge.Change `json:"paths,omitempty"` // JSON documents: what changed where
}

func describeChange(c prolly.Change) docChange {
	d := docChange{Key: c.Key}
	switch {
	case c.From.ID.IsZero():
		d.Change, d.Kind = "added", c.To.Kind
	case c.To.ID.IsZero():
		d.Change, d.Kind = "removed", c.From.Kind
	default:
		d.Change, d.Kind = "modified", c.To.Kind
	}
	if !c.From.ID.IsZero() {
		d.From = &c.From.ID
	}
	if !c.To.ID.IsZero() {
		d.To = &c.To.ID
	}
	return d
}

// diffMaps lists the document changes between two index roots.
func diffMaps(ctx context.Context, r *repo.Repo, from, to objects.ID, keys []string) ([]prolly.Change, error) {
	selected := repo.KeyFilter(keys)
	var out []prolly.Change
	err := r.Tree().Diff(ctx, from, to, "", func(c prolly.Change) error {
		if selected(c.Key) {
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// maxDiffDocument bounds the documents diffed line by line; larger ones are
// reported as changed without content.
const maxDiffDocument = 64 << 20

// writeDiff prints changes as a patch: unified line diffs for text, a
// per-path diff for JSON, a note for binary documents.
func writeDiff(ctx context.Context, w io.Writer, r *repo.Repo, changes []prolly.Change) error {
	for _, c := range changes {
		d := describeChange(c)
		fmt.Fprintf(w, "diff --folio a/%s b/%s\n", c.Key, c.Key)
		switch d.Change {
		case "added":
			fmt.Fprintf(w, "new %s document %s\n", d.Kind, c.To.ID.Short())
		case "removed":
			fmt.Fprintf(w, "deleted %s document %s\n", d.Kind, c.From.ID.Short())
		default:
			fmt.Fprintf(w, "index %s..%s\n", c.From.ID.Short(), c.To.ID.Short())
		}
		oldContent, newContent, ok, err := loadPair(ctx, r, c)
		if err != nil {
			return err
		}
		binary := c.From.Kind == objects.KindBinary || c.To.Kind == objects.KindBinary
		switch {
		case !ok || binary:
			fmt.Fprintf(w, "Binary or large documents a/%s and b/%s differ\n", c.Key, c.Key)
		case c.From.Kind == objects.KindJSON && c.To.Kind == objects.KindJSON:
			paths, err := jsonmerge.Diff(oldContent, newContent)
			if err != nil {
				w.Write(text.Unified(oldContent, newContent, "a/"+c.Key, "b/"+c.Key, 3))
				continue
			}
			fmt.Fprintf(w, "--- a/%s\n+++ b/%s\n", c.Key, c.Key)
			writeJSONPaths(w, paths)
		default:
			from, to := "a/"+c.Key, "b/"+c.Key
			if d.Change == "added" {
				from = "/dev/null"
			} else if d.Change == "removed" {
				to = "/dev/null"
			}
			w.Write(text.Unified(oldContent, newContent, from, to, 3))
		}
	}
	return nil
}

func loadPair(ctx context.Context, r *repo.Repo, c prolly.Change) (oldContent, newContent []byte, ok bool, err error) {
	if c.From.Size > maxDiffDocument || c.To.Size > maxDiffDocument {
		return nil, nil, false, nil
	}
	if !c.From.ID.IsZero() {
		if oldContent, err = r.ReadDocument(ctx, c.From); err != nil {
			return nil, nil, false, err
		}
	}
	if !c.To.ID.IsZero() {
		if newContent, err = r.ReadDocument(ctx, c.To); err != nil {
			return nil, nil, false, err
		}
	}
	return oldContent, newContent, true, nil
}

func writeJSONPaths(w io.Writer, paths []jsonmerge.Change) {
	show := func(v json.RawMessage) string {
		if len(v) > 200 {
			return string(v[:200]) + "…"
		}
		return string(v)
	}
	for _, p := range paths {
		path := p.Path
		if path == "" {
			path = "(whole document)"
		}
		switch p.Op {
		case "add":
			fmt.Fprintf(w, "+ %s: %s\n", path, show(p.New))
		case "remove":
			fmt.Fprintf(w, "- %s: %s\n", path, show(p.Old))
		default:
			fmt.Fprintf(w, "~ %s: %s -> %s\n", path, show(p.Old), show(p.New))
		}
	}
}

// jsonChanges fills in the per-path changes of JSON documents for --json.
func jsonChanges(ctx context.Context, r *repo.Repo, changes []prolly.Change) ([]docChange, error) {
	out := make([]docChange, 0, len(changes))
	for _, c := range changes {
		d := describeChange(c)
		if c.From.Kind == objects.KindJSON && c.To.Kind == objects.KindJSON {
			oldContent, newContent, ok, err := loadPair(ctx, r, c)
			if err != nil {
				return nil, err
			}
			if ok {
				d.Paths, _ = jsonmerge.Diff(oldContent, newContent)
			}
		}
		out = append(out, d)
	}
	return out, nil
}
