package wire

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/folio-db/folio/objects"
)

// Protocol v1 endpoints, relative to a repository's URL.
const (
	PathRefs  = "v1/refs"  // GET: RefsResponse
	PathFetch = "v1/fetch" // POST FetchRequest: framed FetchResponse, then a pack
	PathPush  = "v1/push"  // POST framed PushRequest, then a pack: PushResponse
	PathSync  = "v1/sync"  // POST SyncRequest: the server syncs its own repository
	PathDocs  = "v1/docs"  // the document API
	PathLog   = "v1/log"   // GET: commits of a branch
)

// Content types.
const (
	ContentJSON   = "application/json"
	ContentFramed = "application/x-folio-v1" // a framed JSON message, then a pack
)

// RefsResponse lists a repository's branches and tags.
type RefsResponse struct {
	Head string        `json:"head"` // the default branch, a full ref name
	Refs []objects.Ref `json:"refs"`
}

// FetchRequest asks for the objects of the refs under Prefixes that the
// client lacks. Haves are commits the client has (its ref tips); the
// server ignores those it does not know.
type FetchRequest struct {
	Prefixes []string     `json:"prefixes"`
	Haves    []objects.ID `json:"haves"`
}

// FetchResponse comes before the pack of a fetch: the refs the pack
// completes, read before the pack was made.
type FetchResponse struct {
	Head string        `json:"head"`
	Refs []objects.Ref `json:"refs"`
}

// RefUpdate is one ref a push moves by compare-and-swap.
type RefUpdate struct {
	Name string     `json:"name"`
	Old  objects.ID `json:"old"` // zero: must not exist
	New  objects.ID `json:"new"` // zero: delete
}

// PushRequest comes before the pack of a push. Without Force, an update
// that is not a fast-forward is refused; with it, Old still has to match
// (force with lease).
type PushRequest struct {
	Updates []RefUpdate `json:"updates"`
	Force   bool        `json:"force"`
}

// PushResponse reports a push that moved its refs.
type PushResponse struct {
	Updated []RefUpdate `json:"updated"`
	Objects int         `json:"objects"`
}

// SyncRequest asks a server to sync its repository with some of its
// remotes (all when empty).
type SyncRequest struct {
	Remotes []string `json:"remotes"`
	// Attempts bounds the tries per remote (zero: the server's default).
	Attempts int `json:"attempts,omitempty"`
	// AllowUnrelated merges branches that share no commit with the
	// remote's instead of refusing.
	AllowUnrelated bool `json:"allow_unrelated_histories,omitempty"`
}

// MaxFrame bounds a framed JSON message.
const MaxFrame = 16 << 20

// WriteFrame writes a JSON message as uvarint(len) + JSON, so a pack can
// follow it in the same stream.
func WriteFrame(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var n [binary.MaxVarintLen64]byte
	if _, err := w.Write(n[:binary.PutUvarint(n[:], uint64(len(data)))]); err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// ReadFrame reads a message WriteFrame wrote. r should be buffered for
// speed; the frame is read exactly, leaving the pack that follows.
func ReadFrame(r *bufio.Reader, v any) error {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return fmt.Errorf("%w: frame length: %w", objects.ErrCorrupt, err)
	}
	if n > MaxFrame {
		return fmt.Errorf("%w: a %d-byte control message", objects.ErrTooLarge, n)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return fmt.Errorf("%w: frame cut short: %w", ErrTruncated, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: frame: %v", objects.ErrCorrupt, err)
	}
	return nil
}

// Protocol errors beyond those of package objects.
var (
	// ErrNonFastForward: a push would drop commits from a branch; fetch
	// and merge first, or force with the value you expect to replace.
	ErrNonFastForward = errors.New("wire: not a fast-forward")
	// ErrPrecondition: a conditional document write found another version
	// than the one named in If-Match.
	ErrPrecondition = errors.New("wire: precondition failed")
)
