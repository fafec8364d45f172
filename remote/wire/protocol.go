package wire

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"time"

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
	// PathObjects serves objects by ID, for repairs: POST ObjectsRequest,
	// answered by a pack of those the server holds intact.
	PathObjects = "v1/objects"
	// PathHas says which of some objects the repository holds: POST
	// StoreIDs (at most MaxObjectsRequest), answered by StoreHas. A
	// pusher asks it of the commits it is about to send, so as not to
	// send what reached the server since it last looked (another
	// leader's push, between a peer's fetch and its push).
	PathHas = "v1/has"
	// PathToken describes the token a request carries: GET, TokenInfo.
	// It is served at the server's root too, where folio login may be
	// pointed for every repository under it.
	PathToken = "v1/token"
)

// TokenInfo is what a server says of the token a request carries.
type TokenInfo struct {
	// Checked is false when the server asks for no token at all.
	Checked bool   `json:"checked"`
	Name    string `json:"name,omitempty"`
	Scope   string `json:"scope,omitempty"`
	// Repos are the repositories it opens ("*": every one).
	Repos   []string   `json:"repos,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

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
// (force with lease). With Converge, a branch update whose Old the branch
// has since moved on from (the server took writes of its own meanwhile)
// is not refused: the server merges New into the branch with the
// converging merge that every leader makes the same way (sync's).
type PushRequest struct {
	Updates  []RefUpdate `json:"updates"`
	Force    bool        `json:"force"`
	Converge bool        `json:"converge,omitempty"`
}

// PushResponse reports a push that moved its refs: Updated says where each
// ref moved (a converged branch to the merge the server made).
type PushResponse struct {
	Updated []RefUpdate `json:"updated"`
	Objects int         `json:"objects"`
}

// ObjectsRequest asks for objects by ID (a repair of damaged or missing
// objects). The server sends those it holds intact, in any order, and
// leaves out the others.
type ObjectsRequest struct {
	IDs []objects.ID `json:"ids"`
}

// MaxObjectsRequest bounds the IDs of one ObjectsRequest (its JSON stays
// well under MaxFrame); a client asks for more in several requests.
const MaxObjectsRequest = 50_000

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

// StallBytes is the least a transfer must move in either direction per
// stall timeout: a peer that sends nothing, or trickles a byte at a time,
// is cut off; one that keeps moving is not, however long it takes. A body
// smaller than this must arrive whole within one stall timeout.
const StallBytes = 16 << 10

// MaxFrame bounds a framed JSON message.
const MaxFrame = 16 << 20

// A frame is uvarint(len) + JSON + the CRC-32C of both (4 bytes, little
// endian), so that a pack can follow it in the same stream and no flipped
// byte in the refs it carries goes unnoticed.

// WriteFrame writes a JSON message as a frame.
func WriteFrame(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	frame := binary.AppendUvarint(make([]byte, 0, len(data)+binary.MaxVarintLen64+checksumSize), uint64(len(data)))
	frame = append(frame, data...)
	frame = binary.LittleEndian.AppendUint32(frame, crc32.Checksum(frame, castagnoli))
	_, err = w.Write(frame)
	return err
}

// ReadFrame reads a frame WriteFrame wrote into v, after checking its
// checksum. r should be buffered for speed; the frame is read exactly,
// leaving the pack that follows.
func ReadFrame(r *bufio.Reader, v any) error {
	var buf [maxVarintLen]byte
	n, k, err := readUvarint(r, &buf)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the stream ends before its control message", ErrTruncated)
	case err != nil:
		return fmt.Errorf("%w: control message length: %w", objects.ErrCorrupt, err)
	case n > MaxFrame:
		return fmt.Errorf("%w: a %d-byte control message", objects.ErrTooLarge, n)
	}
	data := make([]byte, n+checksumSize)
	if _, err := io.ReadFull(r, data); err != nil {
		return fmt.Errorf("%w: control message cut short: %w", ErrTruncated, err)
	}
	data, sum := data[:n], binary.LittleEndian.Uint32(data[n:])
	if crc := crc32.Update(crc32.Checksum(buf[:k], castagnoli), castagnoli, data); crc != sum {
		return fmt.Errorf("%w: control message checksum %08x, computed %08x", objects.ErrCorrupt, sum, crc)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: control message: %v", objects.ErrCorrupt, err)
	}
	return nil
}

// ChecksumHeader carries the CRC-32C of a JSON control message sent as a
// plain HTTP body (the refs listing, a push's reply), as Checksum writes it.
const ChecksumHeader = "X-Folio-Checksum"

// Checksum is the ChecksumHeader value of a body.
func Checksum(body []byte) string {
	return fmt.Sprintf("crc32c=%08x", crc32.Checksum(body, castagnoli))
}

// CheckBody checks a body against its ChecksumHeader value.
func CheckBody(body []byte, header string) error {
	if header == "" {
		return fmt.Errorf("%w: control message without a checksum", objects.ErrCorrupt)
	}
	if want := Checksum(body); header != want {
		return fmt.Errorf("%w: control message checksum %q, computed %q", objects.ErrCorrupt, header, want)
	}
	return nil
}

// Validate checks what a refs listing says before anything acts on it:
// every name a valid branch or tag name, none twice, no zero ID, and a
// head that is a valid branch name (the branch need not exist).
func (r *RefsResponse) Validate() error { return validateRefs(r.Head, r.Refs) }

// Validate checks a fetch's refs as RefsResponse.Validate does.
func (r *FetchResponse) Validate() error { return validateRefs(r.Head, r.Refs) }

func validateRefs(head string, refs []objects.Ref) error {
	if head != "" {
		short, ok := strings.CutPrefix(head, objects.BranchPrefix)
		if !ok {
			return fmt.Errorf("%w: head %q is not a branch", objects.ErrInvalidRef, head)
		}
		if err := objects.ValidateBranchName(short); err != nil {
			return fmt.Errorf("head: %w", err)
		}
	}
	seen := make(map[string]bool, len(refs))
	for _, ref := range refs {
		if !strings.HasPrefix(ref.Name, objects.BranchPrefix) && !strings.HasPrefix(ref.Name, objects.TagPrefix) {
			return fmt.Errorf("%w %q: not a branch or tag", objects.ErrInvalidRef, ref.Name)
		}
		if err := objects.ValidateRefName(ref.Name); err != nil {
			return err
		}
		if seen[ref.Name] {
			return fmt.Errorf("%w %q: listed twice", objects.ErrInvalidRef, ref.Name)
		}
		seen[ref.Name] = true
		if ref.ID.IsZero() {
			return fmt.Errorf("%w %q: no commit", objects.ErrInvalidRef, ref.Name)
		}
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
