package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/badgerstore"
	"github.com/folio-db/folio/objects/prolly"
)

// DefaultBranch is the branch a new repository starts on.
const DefaultBranch = "main"

// Repo is one leader: its store, and its HEAD and config files.
type Repo struct {
	*Files
	store    objects.Store
	tree     *prolly.Tree
	readOnly bool
	clock    func() time.Time
	// commits keeps commits read lately, decoded (Options.RecentBytes);
	// nil keeps none.
	commits *objects.Recent[*objects.Commit]
	// derived are the derived commits remembered (derived.go).
	derived *objects.Recent[DerivedCommit]
}

// Files are a repository's small files: format, HEAD and config. They can
// be read and changed while another process holds the store (folio
// serve), so settings such as remotes stay editable.
type Files struct {
	dir string // the .folio folder

	headMu sync.Mutex
	head   headFileRead // the last HEAD read (HeadRef)
}

// headFileRead is HEAD's content as read, and the file it was read from.
type headFileRead struct {
	info os.FileInfo
	ref  string
}

// OpenFiles opens the files of the repository whose .folio folder is dir,
// without its store.
func OpenFiles(dir string) (*Files, error) {
	if err := checkFormat(dir); err != nil {
		return nil, err
	}
	return &Files{dir: dir}, nil
}

// Options say how to open a repository.
type Options struct {
	// ReadOnly opens the store for reading: several readers may share it.
	ReadOnly bool
	// LockWait is how long to wait for another process to release the
	// repository before failing with badgerstore.ErrLocked.
	LockWait time.Duration
	// Logger receives the store's warnings; nil keeps them silent.
	Logger *slog.Logger
	// CacheBytes sizes the store's block cache (zero: a command's small
	// default); servers want more.
	CacheBytes int64
	// RecentBytes keeps about this many bytes of the objects written or
	// read lately in memory (zero: none), and a share of it of commits
	// read lately, decoded; servers want some: their merges, sends and
	// receives walk the same recent commits again and again
	// (badgerstore.Options.RecentBytes).
	RecentBytes int64
	// Short marks a read-write session that writes little, as most CLI
	// commands: the store then starts no background compaction that its
	// Close would wait for (badgerstore.Options.Short).
	Short bool
	// Store replaces the Badger store (unit tests use memstore).
	Store objects.Store
	// Clock is the leader's clock, read for new commits' commit times and
	// default author dates (nil: time.Now). Tests inject one.
	Clock func() time.Time
}

// Init creates a repository in worktree/.folio on branch (DefaultBranch if
// empty) and opens it.
func Init(ctx context.Context, worktree, branch string, opts Options) (*Repo, error) {
	if branch == "" {
		branch = DefaultBranch
	}
	if err := objects.ValidateBranchName(branch); err != nil {
		return nil, err
	}
	dir := filepath.Join(worktree, DirName)
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("%w in %s", ErrExists, worktree)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if opts.Store == nil {
		store, err := badgerstore.Open(filepath.Join(dir, storeDir), badgerstore.Options{Create: true, Logger: opts.Logger, RecentBytes: opts.RecentBytes})
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		opts.Store = store
	}
	// The format file goes last: until it exists the folder is not a repository.
	for _, f := range []struct{ name, content string }{
		{headFile, objects.BranchPrefix + branch + "\n"},
		{formatFile, formatLine},
	} {
		if err := WriteFileAtomic(filepath.Join(dir, f.name), []byte(f.content)); err != nil {
			opts.Store.Close()
			os.RemoveAll(dir)
			return nil, err
		}
	}
	opts.ReadOnly = false
	return newRepo(dir, opts), nil
}

// Open opens the repository whose .folio folder is dir.
func Open(ctx context.Context, dir string, opts Options) (*Repo, error) {
	if err := checkFormat(dir); err != nil {
		return nil, err
	}
	if opts.Store == nil {
		store, err := badgerstore.Open(filepath.Join(dir, storeDir), badgerstore.Options{
			ReadOnly: opts.ReadOnly, LockWait: opts.LockWait, Logger: opts.Logger, CacheBytes: opts.CacheBytes,
			RecentBytes: opts.RecentBytes, Short: opts.Short,
		})
		if err != nil {
			return nil, err
		}
		opts.Store = store
	}
	if !opts.ReadOnly {
		if err := upgradeFormat(dir); err != nil {
			opts.Store.Close()
			return nil, err
		}
	}
	return newRepo(dir, opts), nil
}

// newRepo is the repository over opts.Store.
func newRepo(dir string, opts Options) *Repo {
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	return &Repo{Files: &Files{dir: dir}, store: opts.Store, tree: prolly.New(opts.Store), readOnly: opts.ReadOnly,
		clock: clock, commits: newRecentCommits(opts.RecentBytes / recentCommitsShare), derived: newDerived()}
}

// Now reads the leader's clock.
func (r *Repo) Now() time.Time { return r.clock() }

// Close releases the store.
func (r *Repo) Close() error { return r.store.Close() }

// Dir is the .folio folder.
func (f *Files) Dir() string { return f.dir }

// Store is the object and ref store, for the layers above.
func (r *Repo) Store() objects.Store { return r.store }

// Tree reads and edits the prolly maps of this repository.
func (r *Repo) Tree() *prolly.Tree { return r.tree }

func (r *Repo) checkWritable() error {
	if r.readOnly {
		return ErrReadOnly
	}
	return nil
}

// HeadRef returns the full ref name of the current branch.
// A server asks for every request that names no branch: while the file is
// the one read last (HEAD is replaced, never written in place), unchanged
// in time and size, the answer read then stands, for one stat.
func (f *Files) HeadRef() (string, error) {
	path := filepath.Join(f.dir, headFile)
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	f.headMu.Lock()
	last := f.head
	f.headMu.Unlock()
	if last.info != nil && os.SameFile(info, last.info) && info.ModTime().Equal(last.info.ModTime()) && info.Size() == last.info.Size() {
		return last.ref, nil
	}
	ref, err := readHead(path)
	if err == nil {
		f.headMu.Lock()
		f.head = headFileRead{info, ref}
		f.headMu.Unlock()
	}
	return ref, err
}

func readHead(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	ref := strings.TrimSpace(string(data))
	if !strings.HasPrefix(ref, objects.BranchPrefix) || objects.ValidateRefName(ref) != nil {
		return "", fmt.Errorf("%w: HEAD holds %q", objects.ErrCorrupt, ref)
	}
	return ref, nil
}

// CurrentBranch returns the short name of the current branch.
func (f *Files) CurrentBranch() (string, error) {
	ref, err := f.HeadRef()
	return strings.TrimPrefix(ref, objects.BranchPrefix), err
}

// setHead makes branch (short name) the current branch.
func (f *Files) setHead(branch string) error {
	return WriteFileAtomic(filepath.Join(f.dir, headFile), []byte(objects.BranchPrefix+branch+"\n"))
}

// RefOrZero returns the ID a ref points at, or the zero ID if it does not
// exist (an unborn branch).
func (r *Repo) RefOrZero(ctx context.Context, name string) (objects.ID, error) {
	id, err := r.store.Ref(ctx, name)
	if errors.Is(err, objects.ErrNotFound) {
		return objects.ID{}, nil
	}
	return id, err
}

// Config returns the repository's settings over the user's global ones.
func (f *Files) Config() (Config, error) {
	cfg, err := readConfig(GlobalConfigPath())
	if err != nil {
		return nil, err
	}
	local, err := readConfig(filepath.Join(f.dir, configFile))
	if err != nil {
		return nil, err
	}
	for k, v := range local {
		cfg[k] = v
	}
	return cfg, nil
}

// LocalConfig returns the repository's own settings.
func (f *Files) LocalConfig() (Config, error) {
	return readConfig(filepath.Join(f.dir, configFile))
}

// SetConfig sets (or, with an empty value and unset, removes) a setting in
// the repository's config, or in the user's global config.
func (f *Files) SetConfig(key, value string, unset bool) error {
	return SetConfigFile(filepath.Join(f.dir, configFile), key, value, unset)
}

// SetConfigFile edits one config file.
func SetConfigFile(path, key, value string, unset bool) error {
	if err := ValidateConfigKey(key); err != nil {
		return err
	}
	cfg, err := readConfig(path)
	if err != nil {
		return err
	}
	if unset {
		if _, ok := cfg[key]; !ok {
			return fmt.Errorf("%w: %s is not set", objects.ErrNotFound, key)
		}
		delete(cfg, key)
	} else {
		cfg[key] = value
	}
	return writeConfig(path, cfg)
}

// ReadConfigFile reads one config file (the global one, for example).
func ReadConfigFile(path string) (Config, error) { return readConfig(path) }
