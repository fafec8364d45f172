package remote

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
)

// PullReport is what a pull did.
type PullReport struct {
	Report
	Branch BranchSync `json:"branch"`
}

// Pull fetches from a remote and converges a local branch (full ref name)
// with the remote's branch of the same name, or of remoteBranch if given.
func Pull(ctx context.Context, r *repo.Repo, rm Remote, branch, remoteBranch string, opts Options) (*PullReport, error) {
	rep := &PullReport{}
	fetchRep, got, err := fetch(ctx, r, rm, opts, false)
	rep.Report = *fetchRep
	if err != nil {
		return rep, err
	}
	if remoteBranch == "" {
		remoteBranch = branch
	}
	theirs, ok := got.branches[remoteBranch]
	if !ok {
		return rep, fmt.Errorf("%w: %s has no branch %s", objects.ErrNotFound, rm.Name, strings.TrimPrefix(remoteBranch, objects.BranchPrefix))
	}
	local, err := r.RefOrZero(ctx, branch)
	if err != nil {
		return rep, err
	}
	if err := checkRelated(ctx, r, rm, opts, map[string][2]objects.ID{branch: {local, theirs}}); err != nil {
		return rep, err
	}
	rep.Branch, err = syncBranch(ctx, r, branch, local, theirs, nil)
	if err == nil && rep.Branch.Action == "skipped" {
		err = fmt.Errorf("%w on %s: %s", repo.ErrStagedChanges, rep.Branch.Branch, rep.Branch.Note)
	}
	return rep, err
}

// CloneReport is what a clone did.
type CloneReport struct {
	Report
	Branch string `json:"branch"`         // the branch checked out
	Note   string `json:"note,omitempty"` // why it is not the remote's default
}

// Clone makes a new repository in dir from the one at rawURL: it adds the
// remote as origin, fetches everything, and checks out the remote's default
// branch, or, if that branch has no commits while others do, main or else
// the first branch by name. A clone that fails removes what it created.
//
// The repository is made in a hidden folder inside dir and moved into
// place whole once its refs are set, so that a clone killed on the way
// leaves no repository behind: that lets the pack go straight into the
// new store instead of through a quarantine (see fetch).
func Clone(ctx context.Context, rawURL, dir string, opts Options) (_ *repo.Repo, rep *CloneReport, err error) {
	if err := ValidateURL(rawURL); err != nil {
		return nil, nil, err
	}
	if err := checkCloneFolder(dir); err != nil {
		return nil, nil, err
	}
	created := false
	if _, err := os.Stat(dir); err != nil {
		created = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	staging, err := os.MkdirTemp(dir, cloneStagingPattern)
	if err != nil {
		return nil, nil, err
	}
	r, err := repo.Init(ctx, staging, "", repo.Options{})
	if err != nil {
		os.RemoveAll(staging)
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			r.Close()
			os.RemoveAll(staging)
			if created {
				os.Remove(dir)
			}
		}
	}()
	if rep, err = fill(ctx, r, rawURL, opts); err != nil {
		return nil, rep, err
	}
	r, err = moveInPlace(ctx, r, staging, dir)
	return r, rep, err
}

// fill fills the new repository of a clone: origin, its objects and
// branches, and the branch checked out.
func fill(ctx context.Context, r *repo.Repo, rawURL string, opts Options) (*CloneReport, error) {
	if err := Add(r.Files, "origin", rawURL); err != nil {
		return nil, err
	}
	rm := Remote{Name: "origin", URL: rawURL}
	fetchRep, got, err := fetch(ctx, r, rm, opts, true)
	rep := &CloneReport{Report: *fetchRep}
	if err != nil {
		return rep, err
	}
	if len(got.branches) == 0 {
		rep.Branch, err = r.CurrentBranch()
		return rep, err // an empty repository: stay on the default branch
	}
	head := got.head
	if _, ok := got.branches[head]; !ok {
		head = pickBranch(got.branches)
		rep.Note = fmt.Sprintf("the remote's default branch %s has no commits; checked out %s",
			strings.TrimPrefix(got.head, objects.BranchPrefix), strings.TrimPrefix(head, objects.BranchPrefix))
	}
	rep.Branch = strings.TrimPrefix(head, objects.BranchPrefix)
	var updates []objects.RefUpdate
	for name, id := range got.branches {
		updates = append(updates, objects.RefUpdate{Name: name, New: id})
	}
	if err := r.Store().UpdateRefs(ctx, updates...); err != nil {
		return rep, err
	}
	return rep, r.Switch(ctx, rep.Branch, false)
}

// cloneStagingPattern names the folder a clone is made in (os.MkdirTemp).
const cloneStagingPattern = ".folio-clone-*"

// checkCloneFolder refuses a folder that holds anything, and names the
// staging folders of clones that were stopped there (killed, or the
// machine went down): they may also belong to a clone still running, so
// only the user removes them.
func checkCloneFolder(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		return nil // no folder yet: Clone makes it
	}
	var staging []string
	for _, e := range entries {
		if ok, _ := filepath.Match(cloneStagingPattern, e.Name()); ok && e.IsDir() {
			staging = append(staging, filepath.Join(dir, e.Name()))
		}
	}
	if len(staging) == len(entries) {
		return fmt.Errorf("clone into %s: it holds what a clone that was stopped left (%s); "+
			"if no clone is running there, remove it (rm -rf %s) and clone again",
			dir, strings.Join(staging, ", "), strings.Join(staging, " "))
	}
	return fmt.Errorf("clone into %s: the folder exists and is not empty", dir)
}

// moveInPlace closes the repository made in staging, renames its folder
// into dir, and opens it there. Until the rename dir holds no repository.
func moveInPlace(ctx context.Context, r *repo.Repo, staging, dir string) (*repo.Repo, error) {
	if err := r.Close(); err != nil {
		return r, err
	}
	final := filepath.Join(dir, repo.DirName)
	if err := os.Rename(filepath.Join(staging, repo.DirName), final); err != nil {
		return r, err
	}
	err := os.Remove(staging)
	if err == nil {
		err = syncDir(dir)
	}
	if err == nil {
		var opened *repo.Repo
		if opened, err = repo.Open(ctx, final, repo.Options{}); err == nil {
			return opened, nil
		}
	}
	os.RemoveAll(final) // the clone failed: it leaves nothing
	return r, err
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// pickBranch is the branch a clone checks out when the remote's default
// has no commits: main if it exists, else the first by name.
func pickBranch(branches map[string]objects.ID) string {
	if _, ok := branches[objects.BranchPrefix+"main"]; ok {
		return objects.BranchPrefix + "main"
	}
	return slices.Min(slices.Collect(maps.Keys(branches)))
}
