package remote

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/folio-db/folio/merge"
	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/wire"
)

// SyncOptions say how to sync.
type SyncOptions struct {
	Options
	// Attempts bounds the tries per remote when pushes lose races
	// (default 10); Backoff is the first wait, doubled each time up to
	// maxBackoff, with jitter (default 100ms).
	Attempts int
	Backoff  time.Duration
	// Writes, when set, is held while a branch converges and moves, so that
	// the server's own document writes (which take it too) wait a moment
	// instead of racing the move over and over.
	Writes sync.Locker
}

// ErrUnrelatedHistories: a branch here and the remote's branch of the
// same name share no commit, so a merge would join two unrelated datasets
// (a remote pointing at the wrong repository, say). Sync and pull refuse
// it unless Options.AllowUnrelated is set.
var ErrUnrelatedHistories = errors.New("remote: unrelated histories")

// unrelated reports whether two heads, both present, share no commit.
func unrelated(ctx context.Context, r *repo.Repo, local, remote objects.ID) (bool, error) {
	if local.IsZero() || remote.IsZero() || local == remote {
		return false, nil
	}
	bases, err := merge.Bases(ctx, r, local, remote)
	return len(bases) == 0, err
}

// checkRelated refuses, before anything moves, to converge pairs of
// branches (local, remote) that share no commit, unless allowed.
func checkRelated(ctx context.Context, r *repo.Repo, rm Remote, opts Options, pairs map[string][2]objects.ID) error {
	if opts.AllowUnrelated {
		return nil
	}
	var refused []string
	for name, p := range pairs {
		u, err := unrelated(ctx, r, p[0], p[1])
		if err != nil {
			return err
		}
		if u {
			refused = append(refused, strings.TrimPrefix(name, objects.BranchPrefix))
		}
	}
	if len(refused) == 0 {
		return nil
	}
	slices.Sort(refused)
	return fmt.Errorf("%w: %s here and on %s share no commit, so nothing was merged or pushed "+
		"(check the remote's URL; --allow-unrelated-histories merges them)", ErrUnrelatedHistories, strings.Join(refused, ", "), rm.Name)
}

// maxBackoff caps the wait between attempts: leaders that keep taking
// writes keep moving, and a long wait only widens the race.
const maxBackoff = 3 * time.Second

// BranchSync is what sync did to one branch.
type BranchSync struct {
	Branch    string             `json:"branch"`
	Action    string             `json:"action"` // up-to-date, created, fast-forward, merged, pushed, skipped
	Head      objects.ID         `json:"head"`
	Conflicts []merge.Conflicted `json:"conflicts,omitempty"`
	Note      string             `json:"note,omitempty"`
}

// SyncReport is what sync did with one remote.
type SyncReport struct {
	Report
	Attempts int          `json:"attempts"`
	Branches []BranchSync `json:"branches"`
	Error    string       `json:"error,omitempty"`
}

// NewConflicts counts the conflicts the sync's merges recorded.
func (s *SyncReport) NewConflicts() int {
	n := 0
	for _, b := range s.Branches {
		n += len(b.Conflicts)
	}
	return n
}

// Sync fetches from a remote, converges every branch with its counterpart
// (creating local branches the remote has, merging with merge.Converge so
// every leader makes the same merge commit), and pushes back what the remote
// lacks. A push that lost a race starts over after a backoff. A branch with
// staged changes is not moved, and is reported as skipped.
func Sync(ctx context.Context, r *repo.Repo, rm Remote, opts SyncOptions) (*SyncReport, error) {
	if opts.Attempts <= 0 {
		opts.Attempts = 10
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 100 * time.Millisecond
	}
	total := &SyncReport{Report: Report{Remote: rm.Name, Updated: []RefChange{}}}
	publish, err := publishedBranches(r)
	if err != nil {
		total.Error = wire.UserMessage(err)
		return total, err
	}
	wait := opts.Backoff
	for attempt := 1; attempt <= opts.Attempts; attempt++ {
		total.Attempts = attempt
		var round *SyncReport
		round, err = syncOnce(ctx, r, rm, opts, publish)
		total.add(round)
		if err == nil || !retryable(err) {
			break
		}
		if attempt < opts.Attempts {
			jitter := time.Duration(rand.Int64N(int64(wait)/2 + 1))
			select {
			case <-time.After(wait + jitter):
			case <-ctx.Done():
				return total, ctx.Err()
			}
			wait = min(2*wait, maxBackoff)
		}
	}
	if err != nil {
		total.Error = wire.UserMessage(err)
	}
	return total, err
}

// SyncAll syncs with each remote in turn and reports on each: one that
// fails (a remote that is down, or stops answering until its timeout) does
// not stop the others.
func SyncAll(ctx context.Context, r *repo.Repo, remotes []Remote, opts SyncOptions) []*SyncReport {
	out := make([]*SyncReport, 0, len(remotes))
	for _, rm := range remotes {
		rep, err := Sync(ctx, r, rm, opts)
		if err != nil && rep.Error == "" {
			rep.Error = wire.UserMessage(err)
		}
		out = append(out, rep)
	}
	return out
}

// retryable: the remote moved between our fetch and our push.
func retryable(err error) bool {
	return errors.Is(err, objects.ErrRefChanged) || errors.Is(err, wire.ErrNonFastForward) || errors.Is(err, ErrFetchFirst)
}

func (s *SyncReport) add(round *SyncReport) {
	if round == nil {
		return
	}
	s.Requests += round.Requests
	s.BytesSent += round.BytesSent
	s.BytesReceived += round.BytesReceived
	s.ObjectsSent += round.ObjectsSent
	s.ObjectsReceived += round.ObjectsReceived
	s.Updated = append(s.Updated, round.Updated...)
	// Merges of earlier rounds stay in the history: keep their conflicts.
	for _, b := range round.Branches {
		i := slices.IndexFunc(s.Branches, func(x BranchSync) bool { return x.Branch == b.Branch })
		if i < 0 {
			s.Branches = append(s.Branches, b)
			continue
		}
		b.Conflicts = append(s.Branches[i].Conflicts, b.Conflicts...)
		s.Branches[i] = b
	}
}

func syncOnce(ctx context.Context, r *repo.Repo, rm Remote, opts SyncOptions, publish func(branch string) bool) (*SyncReport, error) {
	rep := &SyncReport{}
	fetchRep, got, err := fetch(ctx, r, rm, opts.Options, false)
	rep.Report = *fetchRep
	if err != nil {
		return rep, err
	}
	locals, err := r.Store().Refs(ctx, objects.BranchPrefix)
	if err != nil {
		return rep, err
	}
	heads := map[string]objects.ID{}
	for _, l := range locals {
		heads[l.Name] = l.ID
	}
	both := maps.Clone(got.branches)
	maps.Copy(both, heads)
	var names []string
	for _, name := range slices.Sorted(maps.Keys(both)) {
		if b, ok := leftAlone(rm, name, heads[name], got, publish); ok {
			rep.Branches = append(rep.Branches, b)
			continue
		}
		names = append(names, name)
	}
	pairs := map[string][2]objects.ID{}
	for _, name := range names {
		pairs[name] = [2]objects.ID{heads[name], got.branches[name]}
	}
	if err := checkRelated(ctx, r, rm, opts.Options, pairs); err != nil {
		return rep, err
	}
	var push []wire.RefUpdate
	var failed []error
	for _, name := range names {
		// One branch that cannot converge must not stop the others.
		b, err := syncBranch(ctx, r, name, heads[name], got.branches[name], opts.Writes)
		if err != nil {
			if ctx.Err() != nil {
				return rep, err
			}
			b.Action, b.Note = "failed", err.Error()
			failed = append(failed, fmt.Errorf("branch %s: %w", b.Branch, err))
		}
		if got.made[name] && b.Action == "up-to-date" {
			b.Action = "created" // by the fetch, in the step that saw it
		}
		rep.Branches = append(rep.Branches, b)
		if b.Action != "skipped" && b.Action != "failed" && b.Head != got.branches[name] {
			push = append(push, wire.RefUpdate{Name: name, Old: got.branches[name], New: b.Head})
		}
	}
	if len(push) == 0 {
		return rep, errors.Join(failed...)
	}
	c, err := newClient(rm, opts.Options)
	if err != nil {
		return rep, err
	}
	pushRep := &Report{}
	have := slices.Collect(maps.Values(got.branches)) // advertised by the fetch
	held := heldByRemote(ctx, r, c, pushWants(push), have)
	// Converging: a remote that took writes of its own since the fetch
	// merges ours in instead of refusing them (a leader under steady
	// writes would otherwise refuse nearly every push).
	req := wire.PushRequest{Updates: push, Converge: true}
	err = pushUpdates(ctx, r, c, rm.Name, req, append(have, held...), pushRep)
	if err != nil && len(held) > 0 && errors.Is(err, objects.ErrNotFound) {
		// The remote lacks commits it said it held (a bug, or a lie),
		// and refused a push that left them out: send them after all.
		err = pushUpdates(ctx, r, c, rm.Name, req, have, pushRep)
	}
	pushRep.addClientStats(c)
	rep.Requests += pushRep.Requests
	rep.BytesSent += pushRep.BytesSent
	rep.BytesReceived += pushRep.BytesReceived
	rep.ObjectsSent += pushRep.ObjectsSent
	rep.Updated = append(rep.Updated, pushRep.Updated...)
	if err == nil {
		for i := range rep.Branches {
			if rep.Branches[i].Action == "ahead" {
				rep.Branches[i].Action = "pushed"
			}
		}
	}
	return rep, errors.Join(append(failed, err)...)
}

// SyncBranchesKey is the setting that names the branches sync publishes:
// patterns separated by spaces or commas, where '*' matches any run of
// characters, '/' included ("main, team/*"; "*" publishes every branch).
// Unset, it is DefaultSyncBranches.
const SyncBranchesKey = "sync.branches"

// DefaultSyncBranches is what sync publishes when SyncBranchesKey is unset:
// the default branch.
const DefaultSyncBranches = repo.DefaultBranch

// ErrBadSyncBranches: a SyncBranchesKey pattern no branch name could match.
var ErrBadSyncBranches = errors.New("remote: bad " + SyncBranchesKey + " pattern")

// publishedBranches reads SyncBranchesKey: whether sync publishes a branch
// (short name) that is here but not on a remote.
func publishedBranches(r *repo.Repo) (func(branch string) bool, error) {
	cfg, err := r.Config()
	if err != nil {
		return nil, err
	}
	value, ok := cfg[SyncBranchesKey]
	if !ok {
		value = DefaultSyncBranches
	}
	patterns := strings.FieldsFunc(value, func(c rune) bool { return c == ',' || c == ' ' })
	for _, p := range patterns {
		if objects.ValidateBranchName(strings.ReplaceAll(p, "*", "x")) != nil {
			return nil, fmt.Errorf("%w %q: no branch name matches it (want names with '*', e.g. \"main, team/*\")", ErrBadSyncBranches, p)
		}
	}
	return func(branch string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { return globMatch(p, branch) })
	}, nil
}

// globMatch reports whether s matches pattern, where '*' matches any run
// of bytes and every other byte itself. It backtracks only to the last
// '*', so it takes at most len(pattern)*len(s) steps.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			mark++
			p, i = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// leftAlone says whether sync leaves a branch alone, and reports why:
//   - a branch only here whose name publish does not take is not sent
//     ("unpublished"): 'folio push' publishes it, and from then on the
//     remote has it and it syncs;
//   - a branch the remote has, that is gone from here, and that the
//     remote still holds at the commit this repository last saw there (its
//     remote-tracking ref) was deleted here: it stays deleted, here only
//     ("deleted-here"), as git's branch -d leaves the remote's alone. If
//     the remote moved it since, someone still works on it, and the fetch
//     made it here again (branchesToMake), in the step that moved the
//     tracking ref, so that a sync cut short cannot forget it. A branch
//     never seen is made the same way, so that one missing here and seen
//     was deleted here.
func leftAlone(rm Remote, name string, local objects.ID, got *fetched, publish func(string) bool) (BranchSync, bool) {
	short := strings.TrimPrefix(name, objects.BranchPrefix)
	theirs, onRemote := got.branches[name]
	switch {
	case !onRemote && !publish(short):
		return BranchSync{Branch: short, Action: "unpublished", Head: local,
			Note: fmt.Sprintf("only here: 'folio push %s %s' or the %s setting publishes it", rm.Name, short, SyncBranchesKey)}, true
	case local.IsZero() && got.seen[name] == theirs:
		return BranchSync{Branch: short, Action: "deleted-here", Head: theirs,
			Note: fmt.Sprintf("'folio push %s %s --delete' deletes it on %s too", rm.Name, short, rm.Name)}, true
	}
	return BranchSync{}, false
}

// maxLocalRetries bounds how often syncBranch converges again when the
// local branch moved under it (an application writing through the
// document API while the server syncs).
const maxLocalRetries = 8

// syncBranch converges one local branch with the remote's and returns the
// head to push. It merges without holding writes: a merge takes tens of
// milliseconds on a leader under load, and its document writes all waited
// behind it. If the branch moved meanwhile, it merges the branch as it is
// now with the head the first merge made, holding writes so that the
// branch cannot move again. That merge's base is the head the first merge
// started from, so it only merges in the writes that came meanwhile.
func syncBranch(ctx context.Context, r *repo.Repo, name string, local, remote objects.ID, writes sync.Locker) (BranchSync, error) {
	b, head, err := syncBranchOnce(ctx, r, name, local, remote)
	if !errors.Is(err, objects.ErrRefChanged) {
		return b, err
	}
	if writes != nil {
		writes.Lock()
		defer writes.Unlock()
	}
	for attempt := 1; ; attempt++ {
		if local, err = r.RefOrZero(ctx, name); err != nil {
			return b, err
		}
		again, _, err := syncBranchOnce(ctx, r, name, local, head)
		again.Conflicts = append(b.Conflicts, again.Conflicts...)
		if !errors.Is(err, objects.ErrRefChanged) || attempt == maxLocalRetries {
			return again, err
		}
	}
}

// syncBranchOnce converges the branch from local with remote, and returns
// the head it converged to even when the branch moved under it.
func syncBranchOnce(ctx context.Context, r *repo.Repo, name string, local, remote objects.ID) (BranchSync, objects.ID, error) {
	b := BranchSync{Branch: strings.TrimPrefix(name, objects.BranchPrefix), Head: local}
	switch {
	case local == remote:
		b.Action = "up-to-date"
		return b, local, nil
	case remote.IsZero():
		b.Action = "ahead" // only here: pushed after the merges
		return b, local, nil
	case local.IsZero():
		b.Action, b.Head = "created", remote
		return b, remote, r.Store().UpdateRefs(ctx, objects.RefUpdate{Name: name, New: remote})
	}
	staged, err := r.LoadStaged(ctx, name)
	if err != nil {
		return b, local, err
	}
	// The merge, if any, and the branch's move are one synced write.
	buf, store := r.Buffered()
	head, res, err := merge.Converge(ctx, buf, local, remote)
	if err != nil {
		return b, local, err
	}
	switch {
	case head == local:
		b.Action = "ahead"
		return b, head, nil
	case staged.HasChanges():
		b.Action, b.Note = "skipped", "staged changes: commit or reset them, then sync again"
		return b, local, nil
	case head == remote:
		b.Action = "fast-forward"
	default:
		b.Action, b.Conflicts = "merged", res.Conflicted
	}
	if err := store(ctx, objects.RefUpdate{Name: name, Old: local, New: head}); err != nil {
		return b, head, fmt.Errorf("moving %s: %w", name, err)
	}
	b.Head = head
	return b, head, nil
}
