package repo

import (
	"errors"

	"github.com/folio-db/folio/objects"
)

// Errors of the repository layer. The CLI turns them into messages that say
// what to do; errors.Is works on all of them.
var (
	ErrNoRepository      = errors.New("repo: no repository")
	ErrExists            = errors.New("repo: a repository already exists")
	ErrUnknownRepoFormat = errors.New("repo: unknown repository format")
	ErrInvalidConfigKey  = errors.New("repo: invalid config key")
	ErrUnknownRevision   = errors.New("repo: unknown revision")
	ErrAmbiguous         = errors.New("repo: ambiguous revision")
	ErrNothingToCommit   = errors.New("repo: nothing to commit")
	ErrNoCommits         = errors.New("repo: the branch has no commits yet")
	ErrBranchExists      = errors.New("repo: branch already exists")
	ErrTagExists         = errors.New("repo: tag already exists")
	ErrCurrentBranch     = errors.New("repo: cannot delete the current branch")
	ErrNoSuchKey         = errors.New("repo: no such document")
	ErrStaleWorkingSet   = errors.New("repo: the branch moved since changes were staged")
	ErrStagedChanges     = errors.New("repo: there are staged changes")
	ErrExportRefused     = errors.New("repo: cannot export")
	ErrReadOnly          = errors.New("repo: opened read-only")
	// ErrCommitTimeBeforeParent: a commit given a commit time earlier
	// than one of its parents' (commit times never go back).
	ErrCommitTimeBeforeParent = errors.New("repo: commit time before a parent's")
)

// ErrStop ends a walk early without an error.
var ErrStop = errors.New("repo: stop")

func isRefChanged(err error) bool { return errors.Is(err, objects.ErrRefChanged) }
