package repo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/folio-db/folio/objects"
	"golang.org/x/sync/errgroup"
)

// MaxFileName is the longest file name, in bytes, that export writes: the
// NAME_MAX of Linux and the BSDs, and what most filesystems hold.
const MaxFileName = 255

// ExportOptions say what an export writes and what it may replace.
type ExportOptions struct {
	Prefix string // only documents under Prefix/, at their keys relative to it
	Force  bool   // replace existing files (never folders, never through symlinks)
}

// ExportReport says what an export wrote.
type ExportReport struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// ExportProblem is a document an export cannot write, and why.
type ExportProblem struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// ExportError lists every document an export refused to write. It wraps
// ErrExportRefused; nothing was written.
type ExportError struct {
	Problems []ExportProblem // sorted by key
}

// maxListedProblems bounds the problems an ExportError's message lists.
const maxListedProblems = 50

func (e *ExportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: nothing written; %d document(s) cannot be written as files:", ErrExportRefused, len(e.Problems))
	for i, p := range e.Problems {
		if i == maxListedProblems {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Problems)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %s: %s", p.Key, p.Reason)
	}
	return b.String()
}

func (e *ExportError) Unwrap() error { return ErrExportRefused }

// exportFile is one document on its way to a file.
type exportFile struct {
	key     string
	rel     string // '/'-separated path under the target folder
	entry   objects.Entry
	replace bool   // a file (or symlink) of that name exists and is replaced
	tmp     string // the temp file it is written to, then renamed from
}

// Export writes the documents of a commit's index under opts.Prefix into
// dir, as files at their keys relative to the prefix. It writes only what
// it owns:
//
//   - never into a .git or .folio folder (objects.ReservedName), nor into
//     the repository's own folder, nor with dir inside one of those;
//   - never through a symlink: a symlinked folder inside dir is refused, and
//     every write goes through an os.Root, so nothing lands outside dir;
//   - never over an existing file unless opts.Force, never over a folder;
//   - never a name longer than MaxFileName bytes, or one the system cannot
//     take, nor a key that is both a document and a folder of others.
//
// All of that is checked before anything is written; a failed check is an
// *ExportError listing every refused key. Each document is then written to
// a temp file next to its place, and the temp files are renamed into place
// only when all are written: an export that fails while writing removes
// them and the folders it made, so it leaves no partial file and no
// changed user file.
func (r *Repo) Export(ctx context.Context, commit objects.ID, dir string, opts ExportOptions) (*ExportReport, error) {
	prefix := strings.Trim(opts.Prefix, "/")
	if err := objects.ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	c, err := r.ReadCommit(ctx, commit)
	if err != nil {
		return nil, err
	}
	repoRel, err := r.checkExportDir(dir)
	if err != nil {
		return nil, err
	}
	files, problems, err := r.listExport(ctx, c.Index, prefix, repoRel)
	if err != nil {
		return nil, err
	}
	var mkdirs []string
	dirExists := true
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		dirExists = false
		mkdirs = missingFolders(files, nil)
	} else if err != nil {
		return nil, err
	} else if mkdirs, err = checkTarget(dir, files, opts.Force, problems); err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		e := &ExportError{}
		for key, why := range problems {
			e.Problems = append(e.Problems, ExportProblem{key, why})
		}
		slices.SortFunc(e.Problems, func(a, b ExportProblem) int { return strings.Compare(a.Key, b.Key) })
		return nil, e
	}
	rep, err := r.writeExport(ctx, dir, dirExists, mkdirs, files)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = fmt.Errorf("export into %s: %w", dir, err)
		}
	}
	return rep, err
}

// checkExportDir refuses a target folder inside a .git or .folio folder or
// inside the repository's folder, by its name or where its symlinks lead.
// When the repository's folder is inside the target, it returns its path
// relative to the target ('/'-separated), else "".
func (r *Repo) checkExportDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	repoDir := ""
	if r.dir != "" {
		if repoDir, err = filepath.Abs(r.dir); err != nil {
			return "", err
		}
		repoDir = resolveExisting(repoDir)
	}
	repoRel := ""
	for _, p := range []string{abs, resolveExisting(abs)} {
		for seg := range strings.SplitSeq(filepath.ToSlash(p), "/") {
			if objects.ReservedName(seg) {
				return "", fmt.Errorf("%w into %s: it is inside a .git or .folio folder", ErrExportRefused, dir)
			}
		}
		if repoDir == "" {
			continue
		}
		if rel, err := filepath.Rel(repoDir, p); err == nil && (rel == "." || filepath.IsLocal(rel)) {
			return "", fmt.Errorf("%w into %s: it is inside the repository's folder", ErrExportRefused, dir)
		}
		if rel, err := filepath.Rel(p, repoDir); err == nil && filepath.IsLocal(rel) {
			repoRel = filepath.ToSlash(rel)
		}
	}
	return repoRel, nil
}

// resolveExisting resolves the symlinks of the longest existing leading
// part of an absolute path.
func resolveExisting(p string) string {
	rest := ""
	for {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(real, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(p, rest)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// listExport lists the documents to export and the problems of their
// names, by key: names a filesystem cannot take or folio must not write,
// and keys that are both a document and a folder.
func (r *Repo) listExport(ctx context.Context, index objects.ID, prefix, repoRel string) ([]exportFile, map[string]string, error) {
	listPrefix := ""
	if prefix != "" {
		listPrefix = prefix + "/"
	}
	var files []exportFile
	problems := map[string]string{}
	isDoc := map[string]bool{}
	err := r.tree.Iterate(ctx, index, listPrefix, "", func(key string, e objects.Entry) error {
		rel := strings.TrimPrefix(key, listPrefix)
		if why := fileNameProblem(rel, repoRel, runtime.GOOS); why != "" {
			problems[key] = why
		}
		files = append(files, exportFile{key: key, rel: rel, entry: e})
		isDoc[rel] = true
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		for parent := path.Dir(f.rel); parent != "."; parent = path.Dir(parent) {
			if isDoc[parent] {
				problems[listPrefix+parent] = "it is a document and also a folder holding " + f.key
			}
		}
	}
	return files, problems, nil
}

// fileNameProblem says why rel cannot be written as a file on goos, or "".
func fileNameProblem(rel, repoRel, goos string) string {
	if repoRel != "" && (rel == repoRel || strings.HasPrefix(rel, repoRel+"/")) {
		return "it would be written into the repository's folder"
	}
	for seg := range strings.SplitSeq(rel, "/") {
		switch {
		case objects.ReservedName(seg):
			return fmt.Sprintf("it would be written into a .git or .folio folder (%q)", seg)
		case len(seg) > MaxFileName:
			return fmt.Sprintf("a name in it is %d bytes long; file names hold at most %d", len(seg), MaxFileName)
		case goos == "windows" && strings.ContainsAny(seg, `\:*?"<>|`):
			return fmt.Sprintf("%q holds a character Windows file names cannot hold", seg)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return "it cannot be a file name here"
	}
	return ""
}

// Kinds of what already stands at a path in the target folder.
type pathState int

const (
	pathMissing pathState = iota
	pathFolder
	pathFile // a regular file
	pathSymlink
	pathOther // a device, pipe or socket
)

func lstatState(root *os.Root, name string) (pathState, error) {
	info, err := root.Lstat(filepath.FromSlash(name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return pathMissing, nil
	case err != nil:
		return 0, err
	case info.Mode()&fs.ModeSymlink != 0:
		return pathSymlink, nil
	case info.IsDir():
		return pathFolder, nil
	case info.Mode().IsRegular():
		return pathFile, nil
	}
	return pathOther, nil
}

// checkTarget looks at what already stands in the target folder where the
// files go: it adds to problems every file that would replace a folder, a
// special file, or (without force) a file, and every file whose folder is
// a symlink or a file. It marks the files it replaces and returns the
// folders to create, parents first.
func checkTarget(dir string, files []exportFile, force bool, problems map[string]string) ([]string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	seen := map[string]pathState{}
	state := func(rel string) (pathState, error) {
		st, ok := seen[rel]
		if !ok {
			if st, err = lstatState(root, rel); err != nil {
				return 0, err
			}
			seen[rel] = st
		}
		return st, nil
	}
	for i := range files {
		f := &files[i]
		if problems[f.key] != "" {
			continue
		}
		// Down the folders, while they stand; then the file itself.
		st, end := pathFolder, -1
		for st == pathFolder && end < len(f.rel) {
			if next := strings.IndexByte(f.rel[end+1:], '/'); next < 0 {
				end = len(f.rel)
			} else {
				end += 1 + next
			}
			if st, err = state(f.rel[:end]); err != nil {
				return nil, err
			}
		}
		name := f.rel[:end]
		why := ""
		switch {
		case st == pathMissing:
		case name != f.rel && st == pathSymlink:
			why = name + " in the target folder is a symlink; export never writes through one"
		case name != f.rel:
			why = name + " in the target folder is a file, not a folder"
		case st == pathFolder:
			why = "a folder of that name is in the target folder"
		case st == pathOther:
			why = "a special file of that name is in the target folder"
		case !force:
			why = "a file of that name is in the target folder (use --force to replace it)"
		default:
			f.replace = true
		}
		if why != "" {
			problems[f.key] = why
		}
	}
	return missingFolders(files, seen), nil
}

// missingFolders lists the folders the files need that are not in the
// target (seen holds what checkTarget found there; nil when the target
// itself is missing), parents first.
func missingFolders(files []exportFile, seen map[string]pathState) []string {
	need := map[string]bool{}
	for _, f := range files {
		for parent := path.Dir(f.rel); parent != "." && !need[parent]; parent = path.Dir(parent) {
			if seen[parent] == pathFolder {
				break
			}
			need[parent] = true
		}
	}
	out := make([]string, 0, len(need))
	for d := range need {
		out = append(out, d)
	}
	slices.Sort(out) // a parent sorts before what it holds
	return out
}

// writeExport writes every file to a temp file in its folder, then renames
// them all into place. If writing fails, it removes the temp files and the
// folders it made before returning the error.
func (r *Repo) writeExport(ctx context.Context, dir string, dirExists bool, mkdirs []string, files []exportFile) (*ExportReport, error) {
	var madeAbove []string // dir and the folders above it this export made, deepest first
	if !dirExists {
		for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
			if _, err := os.Lstat(p); err == nil || p == filepath.Dir(p) {
				break
			}
			madeAbove = append(madeAbove, p)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var made []string
	undo := func() {
		for _, f := range files {
			if f.tmp != "" {
				root.Remove(f.tmp)
			}
		}
		for _, d := range slices.Backward(made) {
			root.Remove(d)
		}
		for _, d := range madeAbove {
			os.Remove(d)
		}
	}
	for _, d := range mkdirs {
		if err := root.Mkdir(filepath.FromSlash(d), 0o755); err != nil {
			undo()
			return nil, err
		}
		made = append(made, filepath.FromSlash(d))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0) + 2)
	for i := range files {
		g.Go(func() error {
			var err error
			files[i].tmp, err = r.writeTemp(gctx, root, &files[i])
			return err
		})
	}
	if err := g.Wait(); err != nil {
		undo()
		return nil, err
	}
	// The contents are on disk before any name points at them, so a crash
	// leaves whole files or temp files, never a partial file in place.
	if err := syncFilesystem(dir); err != nil {
		undo()
		return nil, err
	}
	rep := &ExportReport{}
	for i, f := range files {
		err := f.rename(root)
		if err != nil {
			for _, f := range files[i:] {
				root.Remove(f.tmp)
			}
			return rep, fmt.Errorf("%w; %d of %d files were written before it stopped", err, rep.Files, len(files))
		}
		rep.Files++
		rep.Bytes += int64(f.entry.Size)
	}
	return rep, syncFilesystem(dir)
}

// writeTemp writes a document to a new temp file in its folder and returns
// the temp file's name, also when writing it failed.
func (r *Repo) writeTemp(ctx context.Context, root *os.Root, f *exportFile) (string, error) {
	name := filepath.Join(filepath.FromSlash(path.Dir(f.rel)), ".folio-export-"+rand.Text()[:16]+".tmp")
	w, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	err = r.CopyDocument(ctx, w, f.entry)
	if err == nil && syncEachFile {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return name, err
}

// rename moves a written temp file into place. Only a file checkTarget saw
// may be replaced: anything else standing there now (a file made since, or
// another of this export's names on a case-insensitive filesystem) stops
// the export.
func (f *exportFile) rename(root *os.Root) error {
	name := filepath.FromSlash(f.rel)
	if !f.replace {
		if _, err := root.Lstat(name); err == nil {
			return fmt.Errorf("%w: %s appeared in the target folder during the export", ErrExportRefused, f.key)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return root.Rename(f.tmp, name)
}
