package repo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"

	"github.com/folio-db/folio/objects"
)

// An upload (a request body, a pipe) may fail part way, be cut off at a
// size limit, or arrive slowly alongside many others, so it is received
// before it is stored.
const (
	// uploadInMemory is the most of an upload held in memory; the rest
	// waits in a temporary file until the upload has ended cleanly.
	uploadInMemory = 64 << 10
	// maxLargeWrites is how many large documents a process chunks into
	// its stores at once: each takes a few chunks of memory (about
	// 12 MiB), so a hundred concurrent uploads take turns here instead.
	maxLargeWrites = 4
)

// largeWrites holds a token per large document being chunked.
var largeWrites = make(chan struct{}, maxLargeWrites)

// WriteUpload stores a document read from src and returns its entry, like
// WriteDocument, except that a read error stores nothing: past
// uploadInMemory bytes the content is first copied to a temporary file in
// the repository's folder, and stored only once src has ended. Memory
// stays a small constant per upload whatever its size; the temporary file
// is removed before WriteUpload returns.
func (r *Repo) WriteUpload(ctx context.Context, src io.Reader) (objects.Entry, error) {
	head := make([]byte, uploadInMemory+1)
	n, err := io.ReadFull(src, head)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.writeSmall(ctx, head[:n])
	}
	if err != nil {
		return objects.Entry{}, err
	}
	tmp, err := os.CreateTemp(r.Dir(), uploadPrefix+"*")
	if err != nil {
		return objects.Entry{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, io.MultiReader(bytes.NewReader(head), src)); err != nil {
		return objects.Entry{}, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return objects.Entry{}, err
	}
	select {
	case largeWrites <- struct{}{}:
		defer func() { <-largeWrites }()
	case <-ctx.Done():
		return objects.Entry{}, ctx.Err()
	}
	return r.WriteDocument(ctx, tmp)
}

// uploadPrefix names the temporary files of uploads in the repository's
// folder.
const uploadPrefix = "upload-"
