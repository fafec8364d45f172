package repo

import (
	"bytes"
	"context"
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
	e, blobs, err := r.ReceiveUpload(ctx, src, -1)
	if err == nil {
		err = r.store.Put(ctx, blobs...)
	}
	return e, err
}

// ReceiveUpload is WriteUpload for a caller that stores a small document
// with the commit that uses it (ChainWrite.Blobs): a document of at most
// uploadInMemory bytes comes back as its blob, unstored; a larger one is
// stored as WriteUpload stores it, and blobs is empty. size is the length
// src declared (an HTTP Content-Length), or -1; it only sizes a buffer.
func (r *Repo) ReceiveUpload(ctx context.Context, src io.Reader, size int64) (e objects.Entry, blobs []objects.Object, err error) {
	// A small document is read into what becomes its blob's encoding,
	// after room for the header, in a buffer as large as src declared:
	// neither grown in steps nor copied into the blob (it was grown from
	// 512 bytes, then copied: 4.7 KB allocated for a 1 KiB document).
	head := bytes.NewBuffer(make([]byte, objects.HeaderSize, objects.HeaderSize+receiveBuffer(size)))
	if _, err := head.ReadFrom(io.LimitReader(src, uploadInMemory+1)); err != nil {
		return objects.Entry{}, nil, err
	}
	content := head.Bytes()[objects.HeaderSize:]
	if len(content) <= uploadInMemory {
		blob := objects.SealBlob(head.Bytes())
		return smallEntry(blob, content), []objects.Object{blob}, nil
	}
	e, err = r.receiveLarge(ctx, content, src)
	return e, nil, err
}

// receiveBuffer is the room to read an upload of the declared size into:
// bytes.Buffer.ReadFrom wants bytes.MinRead free before every read, the
// last one (which finds the end) too. A size unknown or past what is held
// in memory starts as bytes.Buffer does.
func receiveBuffer(size int64) int {
	if size < 0 || size > uploadInMemory {
		return bytes.MinRead
	}
	return int(size) + bytes.MinRead
}

// receiveLarge keeps an upload larger than uploadInMemory in a temporary
// file until it has ended, then stores it.
func (r *Repo) receiveLarge(ctx context.Context, head []byte, src io.Reader) (objects.Entry, error) {
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
