package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/folio-db/folio/objects"
	"golang.org/x/sync/errgroup"
)

// ImportReport says what an import staged.
type ImportReport struct {
	Files   int      `json:"files"`
	Bytes   int64    `json:"bytes"`
	Skipped []string `json:"skipped"` // symlinks and special files, not imported
}

// putBatchBytes is how much blob data an import buffers between Puts.
const putBatchBytes = 8 << 20

// Import stages every regular file under dir as a document keyed by prefix
// plus its path relative to dir ('/'-separated). Files and folders named
// .git or .folio in any spelling (objects.ReservedName) are skipped, as are
// symlinks and special files (listed in the report). Every key is checked before anything is stored: a file whose
// key would be invalid fails the whole import and stages nothing.
func (r *Repo) Import(ctx context.Context, branchRef, dir, prefix string) (*ImportReport, error) {
	if err := r.checkWritable(); err != nil {
		return nil, err
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		if err := objects.ValidateNewKey(prefix); err != nil {
			return nil, err
		}
	}
	list, rep, err := listImport(dir, prefix)
	if err != nil {
		return nil, err
	}
	entries, err := r.storeFiles(ctx, list, rep)
	if err != nil {
		return nil, err
	}
	if _, err := r.StageEdits(ctx, branchRef, list.edits(entries)); err != nil {
		return nil, err
	}
	return rep, nil
}

type importFile struct {
	path string
	at   int // where its key and entry go (importList, storeFiles)
}

// importList is what an import stages: the files to read, and their keys.
// The keys are kept in one string, and their entries (storeFiles) in an
// array without pointers, until the import stages them: through a first
// import the collector runs often (under its heap limit), and a key and
// an edit per file, held from the listing to the end, were 300,000 objects
// and pointers it traced each time.
type importList struct {
	files []importFile // dropped once read (storeFiles)
	keys  strings.Builder
	ends  []int // where each file's key ends in keys
}

func (l *importList) add(path, key string) {
	l.files = append(l.files, importFile{path: path, at: len(l.ends)})
	l.keys.WriteString(key)
	l.ends = append(l.ends, l.keys.Len())
}

// edits returns the edits that stage the files with their entries.
func (l *importList) edits(entries []objects.Entry) []Edit {
	keys := l.keys.String()
	edits := make([]Edit, len(entries))
	start := 0
	for i, end := range l.ends {
		edits[i] = Edit{Key: keys[start:end], Entry: entries[i]}
		start = end
	}
	return edits
}

func listImport(dir, prefix string) (*importList, *ImportReport, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, nil, err
	}
	if !info.IsDir() {
		return nil, nil, fmt.Errorf("%s is not a folder", dir)
	}
	rep := &ImportReport{Skipped: []string{}}
	list := &importList{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if p != dir && objects.ReservedName(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil // a .git file: a git worktree's or submodule's link
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			rep.Skipped = append(rep.Skipped, filepath.ToSlash(rel))
			return nil
		}
		key := filepath.ToSlash(rel)
		if prefix != "" {
			key = prefix + "/" + key
		}
		if err := objects.ValidateNewKey(key); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		list.add(p, key)
		return nil
	})
	return list, rep, err
}

// storeFiles reads and stores the listed files in parallel, batching
// small blobs into large Puts, and returns their entries. A first import,
// into a store without objects, hands the blobs to a leaf load
// (objects.LeafLoader), which writes them the way the store writes
// fastest; the files too large for it, and every file of a later import,
// go through Put.
func (r *Repo) storeFiles(ctx context.Context, list *importList, rep *ImportReport) ([]objects.Entry, error) {
	files := list.files
	list.files = nil
	rep.Files = len(files)
	entries := make([]objects.Entry, len(files))
	var total int64
	if ll, ok := r.store.(objects.LeafLoader); ok {
		load, maxSize, err := ll.LeafLoad(ctx)
		switch {
		case errors.Is(err, objects.ErrNoLeafLoad):
		case err != nil:
			return nil, err
		default:
			var n int64
			// Only the files the load left are kept: the list of them all
			// (8 MB for 100,000) is garbage while Finish works.
			files, n, err = r.readFiles(ctx, files, entries, load.Put, maxSize)
			if err == nil {
				err = load.Finish(ctx)
			}
			if err != nil {
				load.Discard()
				return nil, err
			}
			total += n
		}
	}
	_, n, err := r.readFiles(ctx, files, entries, r.store.Put, -1)
	if err != nil {
		return nil, err
	}
	rep.Bytes = total + n
	return entries, nil
}

// readFiles reads and stores files, filling in their entries, and returns
// how many bytes it stored. With maxSize >= 0 it stores only blobs of at
// most maxSize bytes, and returns the files it left.
//
// A few workers take the files in turn, each with a read buffer of its
// own: a goroutine per file grew a new stack for each (BLAKE3 needs a
// deep one) and took a pooled buffer the frequent collections of a first
// import's heap limit had dropped, and the runtime, kept under that limit,
// returned their pages to the system and faulted them in again (a fifth
// of an import's CPU).
func (r *Repo) readFiles(ctx context.Context, files []importFile, entries []objects.Entry,
	put func(context.Context, ...objects.Object) error, maxSize int) (left []importFile, total int64, err error) {
	g, gctx := errgroup.WithContext(ctx)
	var (
		mu      sync.Mutex
		batch   []objects.Object
		batched int
		next    atomic.Int64
	)
	flush := func(ctx context.Context, force bool) error {
		mu.Lock()
		if !force && batched < putBatchBytes {
			mu.Unlock()
			return nil
		}
		out := batch
		batch, batched = nil, 0
		mu.Unlock()
		if len(out) == 0 {
			return nil
		}
		return put(ctx, out...)
	}
	large := make(chan struct{}, 1) // one large file streams at a time
	store := func(f importFile, buf []byte) error {
		n, err := readFileInto(f.path, buf)
		if err != nil {
			return err
		}
		leave := func() error {
			mu.Lock()
			left = append(left, f)
			mu.Unlock()
			return nil
		}
		if n > SingleBlobMax {
			if maxSize >= 0 {
				return leave()
			}
			// Too large for one blob: stream it, one such file at a time.
			large <- struct{}{}
			defer func() { <-large }()
			entry, err := r.importLarge(gctx, f.path)
			if err != nil {
				return err
			}
			mu.Lock()
			total += int64(entry.Size)
			mu.Unlock()
			entries[f.at] = entry
			return nil
		}
		// EncodeBlob copies the content out of the worker's buffer.
		obj, entry, _ := EncodeSmallDocument(buf[:n])
		if maxSize >= 0 && len(obj.Data) > maxSize {
			return leave()
		}
		mu.Lock()
		batch = append(batch, obj)
		batched += len(obj.Data)
		total += int64(n)
		mu.Unlock()
		entries[f.at] = entry
		return flush(gctx, false)
	}
	for range min(runtime.GOMAXPROCS(0)+2, len(files)) {
		g.Go(func() error {
			buf := make([]byte, SingleBlobMax+1)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return nil
				}
				if err := gctx.Err(); err != nil {
					return err
				}
				if err := store(files[i], buf); err != nil {
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	if err := flush(ctx, true); err != nil {
		return nil, 0, err
	}
	return left, total, nil
}

// importLarge streams a large file into chunks, never holding it whole.
func (r *Repo) importLarge(ctx context.Context, path string) (objects.Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return objects.Entry{}, err
	}
	defer f.Close()
	return r.WriteDocument(ctx, f)
}
