package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/folio-db/folio/objects"
	"github.com/zeebo/blake3"
)

// Large documents are split into content-defined chunks so that no step
// (write, transfer, read) needs the whole document in memory, and an edit
// in the middle of a large document stores only the chunks around it.
const (
	// SingleBlobMax is the largest document stored as one blob.
	SingleBlobMax = 1 << 20
	chunkMin      = 256 << 10
	chunkMax      = 4 << 20
	chunkMask     = 1<<20 - 1 // a cut every ~1 MiB past chunkMin
	// MaxObjectSize bounds every object folio writes: a chunk plus header.
	MaxObjectSize = chunkMax + objects.HeaderSize
)

// gear is the rolling-hash table of the chunker: 256 fixed pseudo-random
// values derived from a constant, so every build cuts at the same places.
// It is made on first use, not at start-up: only large documents need it.
var gear = sync.OnceValue(func() *[256]uint64 {
	var table [256]uint64
	h := blake3.New()
	h.WriteString("folio chunker gear table v1")
	out := h.Digest()
	var buf [8]byte
	for i := range table {
		out.Read(buf[:])
		table[i] = binary.LittleEndian.Uint64(buf[:])
	}
	return &table
})

// nextCut returns the length of the first chunk of data (len(data) if no
// cut point is found and data is shorter than chunkMax).
func nextCut(data []byte) int {
	if len(data) <= chunkMin {
		return len(data)
	}
	end := min(len(data), chunkMax)
	table := gear()
	var h uint64
	for i := chunkMin; i < end; i++ {
		h = h<<1 + table[data[i]]
		if h&chunkMask == 0 {
			return i + 1
		}
	}
	return end
}

// WriteDocument stores content read from r and returns its entry. Small
// documents become one blob; large ones are chunked and streamed, so
// memory stays within a few chunks whatever the size.
func (r *Repo) WriteDocument(ctx context.Context, src io.Reader) (objects.Entry, error) {
	buf := make([]byte, 0, SingleBlobMax+1)
	n, err := io.ReadFull(src, buf[:SingleBlobMax+1])
	buf = buf[:n]
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return r.writeSmall(ctx, buf)
	}
	if err != nil {
		return objects.Entry{}, err
	}
	return r.writeChunked(ctx, buf, src)
}

// WriteDocumentBytes stores content held in memory.
func (r *Repo) WriteDocumentBytes(ctx context.Context, content []byte) (objects.Entry, error) {
	if len(content) <= SingleBlobMax {
		return r.writeSmall(ctx, content)
	}
	return r.WriteDocument(ctx, bytes.NewReader(content))
}

func (r *Repo) writeSmall(ctx context.Context, content []byte) (objects.Entry, error) {
	obj := objects.EncodeBlob(content)
	if err := r.store.Put(ctx, obj); err != nil {
		return objects.Entry{}, err
	}
	return objects.Entry{ID: obj.ID, Kind: objects.DetectKind(content), Size: uint64(len(content))}, nil
}

// EncodeSmallDocument returns the blob and entry of a small document
// without storing it, for callers that batch their writes (import).
func EncodeSmallDocument(content []byte) (objects.Object, objects.Entry, bool) {
	if len(content) > SingleBlobMax {
		return objects.Object{}, objects.Entry{}, false
	}
	obj := objects.EncodeBlob(content)
	return obj, smallEntry(obj, content), true
}

// smallEntry is the entry of a document stored whole as blob.
func smallEntry(blob objects.Object, content []byte) objects.Entry {
	return objects.Entry{ID: blob.ID, Kind: objects.DetectKind(content), Size: uint64(len(content))}
}

func (r *Repo) writeChunked(ctx context.Context, head []byte, rest io.Reader) (objects.Entry, error) {
	var (
		doc  objects.Chunked
		text textChecker
		buf  = make([]byte, chunkMax)
		n    = copy(buf, head)
		eof  bool
	)
	for {
		// Keep chunkMax bytes in view until the end, so cut points do not
		// depend on how the reader delivers data.
		if !eof {
			m, err := io.ReadFull(rest, buf[n:])
			n += m
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				eof = true
			} else if err != nil {
				return objects.Entry{}, err
			}
		}
		if n == 0 {
			break
		}
		cut := nextCut(buf[:n])
		text.write(buf[:cut])
		obj := objects.EncodeBlob(buf[:cut]) // copies: buf is reused
		if err := r.store.Put(ctx, obj); err != nil {
			return objects.Entry{}, err
		}
		doc.Chunks = append(doc.Chunks, objects.ChunkRef{ID: obj.ID, Size: uint64(cut)})
		doc.Size += uint64(cut)
		n = copy(buf, buf[cut:n])
	}
	obj := doc.Encode()
	if err := r.store.Put(ctx, obj); err != nil {
		return objects.Entry{}, err
	}
	entry := objects.Entry{ID: obj.ID, Kind: objects.KindBinary, Size: doc.Size}
	if text.ok() {
		entry.Kind = objects.KindText
		if r.isJSONDocument(ctx, entry) {
			entry.Kind = objects.KindJSON
		}
	}
	return entry, nil
}

// textChecker decides, a chunk at a time, whether content is UTF-8 text
// without NUL, carrying a rune split across chunks to the next one.
type textChecker struct {
	carry []byte
	bad   bool
}

func (t *textChecker) write(p []byte) {
	if t.bad {
		return
	}
	data := append(t.carry, p...)
	// Hold back an incomplete rune at the end.
	cut := len(data)
	for i := 1; i <= utf8.UTFMax && i <= len(data); i++ {
		if utf8.RuneStart(data[len(data)-i]) {
			if !utf8.FullRune(data[len(data)-i:]) {
				cut = len(data) - i
			}
			break
		}
	}
	t.bad = !utf8.Valid(data[:cut]) || bytes.IndexByte(data[:cut], 0) >= 0
	t.carry = append([]byte(nil), data[cut:]...)
}

func (t *textChecker) ok() bool { return !t.bad && len(t.carry) == 0 }

// isJSONDocument validates a large document as JSON by streaming it.
func (r *Repo) isJSONDocument(ctx context.Context, e objects.Entry) bool {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(r.CopyDocument(ctx, pw, e)) }()
	defer pr.Close()
	dec := json.NewDecoder(pr)
	first := true
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if first {
			d, ok := tok.(json.Delim)
			if !ok || (d != '{' && d != '[') {
				return false
			}
			first = false
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			_, err := dec.Token()
			return errors.Is(err, io.EOF)
		}
	}
}

// CopyDocument writes a document's content to w, a chunk at a time. Every
// chunk is checked against its ID before it is written (the store's Get
// does it), so a damaged document writes no wrong byte: the copy stops
// with an error wrapping objects.ErrDamaged.
func (r *Repo) CopyDocument(ctx context.Context, w io.Writer, e objects.Entry) error {
	data, err := r.store.Get(ctx, e.ID)
	if err != nil {
		return err
	}
	t, err := objects.TypeOf(data)
	if err != nil {
		return err
	}
	switch t {
	case objects.TypeBlob:
		_, err = w.Write(data[objects.HeaderSize:])
		return err
	case objects.TypeChunked:
		doc, err := objects.DecodeChunked(data)
		if err != nil {
			return err
		}
		for _, ch := range doc.Chunks {
			content, err := r.ReadChunk(ctx, ch)
			if err != nil {
				return err
			}
			if _, err := w.Write(content); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: document %s is a %s", objects.ErrCorrupt, e.ID.Short(), t)
}

// ReadChunk returns the content of one chunk of a document, checking its
// size.
func (r *Repo) ReadChunk(ctx context.Context, ch objects.ChunkRef) ([]byte, error) {
	data, err := r.store.Get(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	content, err := objects.BlobContent(data)
	if err != nil {
		return nil, err
	}
	if uint64(len(content)) != ch.Size {
		return nil, fmt.Errorf("%w: chunk %s is %d bytes, expected %d", objects.ErrCorrupt, ch.ID.Short(), len(content), ch.Size)
	}
	return content, nil
}

// Chunks lists a document's chunks in order: a document stored as one
// blob is one chunk, a zero entry (absent) has none.
func (r *Repo) Chunks(ctx context.Context, e objects.Entry) ([]objects.ChunkRef, error) {
	if e.ID.IsZero() {
		return nil, nil
	}
	data, err := r.store.Get(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	t, err := objects.TypeOf(data)
	if err != nil {
		return nil, err
	}
	switch t {
	case objects.TypeBlob:
		if len(data) == objects.HeaderSize {
			return nil, nil // empty: no chunk
		}
		return []objects.ChunkRef{{ID: e.ID, Size: uint64(len(data) - objects.HeaderSize)}}, nil
	case objects.TypeChunked:
		doc, err := objects.DecodeChunked(data)
		if err != nil {
			return nil, err
		}
		return doc.Chunks, nil
	}
	return nil, fmt.Errorf("%w: document %s is a %s", objects.ErrCorrupt, e.ID.Short(), t)
}

// DocumentError names the document a read failed on when the failure is a
// damaged object, so the error says which key the damage hurts:
// "document a/b: damaged object 5e1f...". Other errors pass unchanged.
func DocumentError(key string, err error) error {
	if !errors.Is(err, objects.ErrDamaged) {
		return err
	}
	return fmt.Errorf("document %s: %w", key, err)
}

// ReadDocument returns a document's whole content.
func (r *Repo) ReadDocument(ctx context.Context, e objects.Entry) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(e.Size, 1<<30)))
	if err := r.CopyDocument(ctx, &buf, e); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
