package repo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/prolly"
)

// LogFilter selects the commits a history listing shows, as git log's
// options do. The zero filter selects every commit.
type LogFilter struct {
	// Keys keeps the commits that changed a document equal to one of them
	// or under one as a prefix folder, compared with every parent.
	Keys []string
	// Author keeps the commits whose author ("Name <email>") matches.
	Author *regexp.Regexp
	// Grep keeps the commits whose message matches.
	Grep *regexp.Regexp
	// Since and Until keep the commits dated in [Since, Until]; zero
	// times do not bound.
	Since, Until time.Time
	// FirstParent follows only the first parent of merges.
	FirstParent bool
	// Graph visits the commits in the order WalkGraph does, for drawing
	// with Graph, instead of newest first.
	Graph bool
	// Limit stops after that many commits were selected; zero: no limit.
	Limit int
}

// Log visits, newest first, the commits reachable from starts that the
// filter selects.
func (r *Repo) Log(ctx context.Context, starts []objects.ID, f LogFilter, fn func(id objects.ID, c *objects.Commit) error) error {
	for _, k := range f.Keys {
		if err := objects.ValidateKey(k); err != nil {
			return err
		}
	}
	shown := 0
	walk := r.Walk
	switch {
	case f.Graph:
		walk = func(ctx context.Context, starts []objects.ID, fn func(objects.ID, *objects.Commit) error) error {
			return r.WalkGraph(ctx, starts, f.FirstParent, fn)
		}
	case f.FirstParent:
		walk = r.walkFirstParents
	}
	return walk(ctx, starts, func(id objects.ID, c *objects.Commit) error {
		if f.Limit > 0 && shown >= f.Limit {
			return ErrStop
		}
		if ok, err := r.selects(ctx, f, c); err != nil || !ok {
			return err
		}
		shown++
		return fn(id, c)
	})
}

func (r *Repo) selects(ctx context.Context, f LogFilter, c *objects.Commit) (bool, error) {
	switch {
	case f.Author != nil && !f.Author.MatchString(c.Author.String()):
		return false, nil
	case f.Grep != nil && !f.Grep.MatchString(c.Message):
		return false, nil
	case !f.Since.IsZero() && c.Time.Before(f.Since):
		return false, nil
	case !f.Until.IsZero() && c.Time.After(f.Until):
		return false, nil
	case len(f.Keys) > 0:
		return r.changesAny(ctx, c.Index, f.ShownParents(c), f.Keys)
	}
	return true, nil
}

// ShownParents are the parents of c a history listing follows.
func (f LogFilter) ShownParents(c *objects.Commit) []objects.ID {
	if f.FirstParent && len(c.Parents) > 1 {
		return c.Parents[:1]
	}
	return c.Parents
}

// walkFirstParents is Walk along first parents only.
func (r *Repo) walkFirstParents(ctx context.Context, starts []objects.ID, fn func(id objects.ID, c *objects.Commit) error) error {
	for _, id := range starts {
		for !id.IsZero() {
			if err := ctx.Err(); err != nil {
				return err
			}
			c, err := r.ReadCommit(ctx, id)
			if err != nil {
				return err
			}
			if err := fn(id, c); err != nil {
				if errors.Is(err, ErrStop) {
					return nil
				}
				return err
			}
			id = objects.ID{}
			if len(c.Parents) > 0 {
				id = c.Parents[0]
			}
		}
	}
	return nil
}

// errFound ends a diff walk at the first change that matters.
var errFound = errors.New("found")

// changesAny reports whether index changed a document selected by keys
// compared with every parent: a merge that took a document unchanged from
// one side did not change it (git log's history simplification, in its
// simplest form). A root commit is compared with nothing.
func (r *Repo) changesAny(ctx context.Context, index objects.ID, parents []objects.ID, keys []string) (bool, error) {
	parentIndexes := []objects.ID{{}}
	if len(parents) > 0 {
		parentIndexes = parentIndexes[:0]
		for _, p := range parents {
			pc, err := r.ReadCommit(ctx, p)
			if err != nil {
				return false, err
			}
			parentIndexes = append(parentIndexes, pc.Index)
		}
	}
	selected := KeyFilter(keys)
	for _, from := range parentIndexes {
		changed := false
		for _, k := range keys {
			err := r.tree.Diff(ctx, from, index, k, func(ch prolly.Change) error {
				if selected(ch.Key) {
					changed = true
					return errFound
				}
				return nil
			})
			if err != nil && !errors.Is(err, errFound) {
				return false, err
			}
			if changed {
				break
			}
		}
		if !changed {
			return false, nil
		}
	}
	return true, nil
}

// KeyFilter says whether a key is selected by keys: equal to one of them
// or under one as a prefix folder. No keys select every key.
func KeyFilter(keys []string) func(string) bool {
	if len(keys) == 0 {
		return func(string) bool { return true }
	}
	return func(key string) bool {
		for _, k := range keys {
			if rest, ok := strings.CutPrefix(key, k); ok && (rest == "" || rest[0] == '/') {
				return true
			}
		}
		return false
	}
}

// ParseLogTime reads a --since/--until value: RFC 3339, a date
// (YYYY-MM-DD, midnight UTC), or an age such as 2h, 3d or 2w before now.
func ParseLogTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if n := len(s); n > 1 {
		if u, ok := unit[s[n-1]]; ok {
			var count int
			if _, err := fmt.Sscanf(s[:n-1], "%d", &count); err == nil && count >= 0 && fmt.Sprint(count) == s[:n-1] {
				return now.Add(-time.Duration(count) * u), nil
			}
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want 2026-01-02, 2026-01-02T15:04:05Z, or an age like 36h, 3d, 2w", s)
}
