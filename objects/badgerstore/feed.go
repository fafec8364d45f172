package badgerstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/folio-db/folio/objects"
)

// The change feed (objects.ChangeFeed). UpdateRefs gives every branch it
// moves the next sequence number and writes the move under "c" + the
// number, in its own transaction: the counter key "s" is read and written
// there, so two concurrent updates conflict in Badger and one of them is
// retried with the next number. The entry is small and of fixed size
// whatever the move changed; the keys a move changed are worked out when
// the feed is read (objects/repo), so a merge of a million documents does
// not grow the transaction that moves its branch.
//
// Retention: the feed keeps the last Options.FeedKeep moves
// (DefaultFeedKeep). Writing move N deletes move N-FeedKeep in the same
// transaction, so the feed never grows past that; a reader asking for the
// moves after a number it no longer keeps gets objects.ErrFeedReset.

// DefaultFeedKeep is how many of the latest branch moves the feed keeps.
const DefaultFeedKeep = objects.DefaultFeedKeep

const (
	seqKey       = "s"
	changePrefix = 'c'
	moveVersion  = 1
	moveFixed    = 1 + 8 + 2*objects.IDSize // version, time, old, new; then the ref name
)

// feed is the store's part of the change feed that lives in memory: the
// retention, the clock and the signal of the next move.
type feed struct {
	keep  uint64
	now   func() time.Time
	mu    sync.Mutex
	moved chan struct{} // closed at the next move; nil until asked for
}

func (f *feed) init(opts Options) {
	f.keep, f.now = DefaultFeedKeep, time.Now
	if opts.FeedKeep > 0 {
		f.keep = uint64(opts.FeedKeep)
	}
	if opts.Now != nil {
		f.now = opts.Now
	}
}

// record writes the branch moves among updates into txn; it reports
// whether there were any.
func (f *feed) record(txn *badger.Txn, updates []objects.RefUpdate) (bool, error) {
	var seq uint64
	var err error
	recorded := false
	for _, u := range updates {
		if !strings.HasPrefix(u.Name, objects.BranchPrefix) {
			continue
		}
		if !recorded {
			if seq, err = readSeq(txn); err != nil {
				return false, err
			}
			recorded = true
		}
		seq++
		m := objects.BranchMove{Seq: seq, Ref: u.Name, Old: u.Old, New: u.New, Time: f.now()}
		if err := txn.Set(changeKey(seq), encodeMove(m)); err != nil {
			return false, err
		}
		if seq > f.keep {
			if err := txn.Delete(changeKey(seq - f.keep)); err != nil {
				return false, err
			}
		}
	}
	if recorded {
		err = txn.Set([]byte(seqKey), binary.BigEndian.AppendUint64(nil, seq))
	}
	return recorded, err
}

// signal wakes everyone waiting for the next move.
func (f *feed) signal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.moved != nil {
		close(f.moved)
		f.moved = nil
	}
}

// Moved implements objects.ChangeFeed.
func (s *Store) Moved() <-chan struct{} {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	if s.feed.moved == nil {
		s.feed.moved = make(chan struct{})
	}
	return s.feed.moved
}

// Moves implements objects.ChangeFeed.
func (s *Store) Moves(ctx context.Context, since uint64, limit int) ([]objects.BranchMove, uint64, error) {
	if err := s.checkOpen(); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	var moves []objects.BranchMove
	var latest uint64
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		if latest, err = readSeq(txn); err != nil {
			return err
		}
		if since == latest {
			return nil // caught up: every reader asks once more before it waits
		}
		prefix := []byte{changePrefix}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		// The move after since is kept, and so is every one after it: most
		// readers (peers following the feed) read on from a recent move,
		// and need no second seek for the oldest.
		if !s.keeps(it, since, latest) {
			oldest, err := s.oldestMove(it, latest)
			if err != nil {
				return err
			}
			if since > latest || since+1 < oldest {
				return fmt.Errorf("%w: since=%d is outside the moves this feed keeps (%d to %d, the last %d)",
					objects.ErrFeedReset, since, oldest, latest, s.feed.keep)
			}
			it.Seek(changeKey(max(since+1, oldest)))
		}
		for ; it.ValidForPrefix(prefix) && len(moves) < limit; it.Next() {
			item := it.Item()
			seq, err := seqOfKey(item.Key())
			if err != nil {
				return err
			}
			err = item.Value(func(v []byte) error {
				m, err := decodeMove(v)
				m.Seq = seq
				moves = append(moves, m)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, objects.ErrFeedReset) {
		err = fmt.Errorf("badgerstore: change feed: %w", err)
	}
	return moves, latest, err
}

// keeps seeks it to the move after since and reports whether that move
// is the next one kept: stored, and within the retention.
func (s *Store) keeps(it *badger.Iterator, since, latest uint64) bool {
	if since >= latest || latest >= s.feed.keep && since+1 < latest-s.feed.keep+1 {
		return false
	}
	it.Seek(changeKey(since + 1))
	if !it.ValidForPrefix([]byte{changePrefix}) {
		return false
	}
	seq, err := seqOfKey(it.Item().Key())
	return err == nil && seq == since+1
}

// oldestMove is the oldest move kept: the first entry, but never one
// beyond the retention (entries a larger FeedKeep left behind).
func (s *Store) oldestMove(it *badger.Iterator, latest uint64) (uint64, error) {
	prefix := []byte{changePrefix}
	oldest := latest + 1
	if it.Seek(prefix); it.ValidForPrefix(prefix) {
		first, err := seqOfKey(it.Item().Key())
		if err != nil {
			return 0, err
		}
		oldest = min(first, oldest)
	}
	if latest >= s.feed.keep {
		oldest = max(oldest, latest-s.feed.keep+1)
	}
	return oldest, nil
}

func readSeq(txn *badger.Txn) (uint64, error) {
	item, err := txn.Get([]byte(seqKey))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var seq uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("%w: change feed counter holds %d bytes", objects.ErrCorrupt, len(v))
		}
		seq = binary.BigEndian.Uint64(v)
		return nil
	})
	return seq, err
}

func changeKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{changePrefix}, seq)
}

func seqOfKey(k []byte) (uint64, error) {
	if len(k) != 9 || k[0] != changePrefix {
		return 0, fmt.Errorf("%w: change feed key %x", objects.ErrCorrupt, k)
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// encodeMove lays a move out as: version, time (Unix nanoseconds, big
// endian), old ID, new ID, ref name. The sequence number is the key.
func encodeMove(m objects.BranchMove) []byte {
	b := make([]byte, 0, moveFixed+len(m.Ref))
	b = append(b, moveVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Time.UnixNano()))
	b = append(b, m.Old[:]...)
	b = append(b, m.New[:]...)
	return append(b, m.Ref...)
}

// decodeMove reads what encodeMove wrote and refuses anything else: an
// unknown version, a name that is not a branch, or bytes that do not
// encode back the same. The caller sets Seq from the key.
func decodeMove(v []byte) (objects.BranchMove, error) {
	var m objects.BranchMove
	if len(v) < moveFixed || v[0] != moveVersion {
		return m, fmt.Errorf("%w: change feed entry of %d bytes, version %v", objects.ErrCorrupt, len(v), v[:min(len(v), 1)])
	}
	m.Time = time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9]))).UTC()
	copy(m.Old[:], v[9:9+objects.IDSize])
	copy(m.New[:], v[9+objects.IDSize:moveFixed])
	m.Ref = string(v[moveFixed:])
	if !strings.HasPrefix(m.Ref, objects.BranchPrefix) || objects.ValidateRefName(m.Ref) != nil {
		return m, fmt.Errorf("%w: change feed entry names %q, not a branch", objects.ErrCorrupt, m.Ref)
	}
	if !bytes.Equal(encodeMove(m), v) {
		return m, fmt.Errorf("%w: change feed entry is not in canonical form", objects.ErrCorrupt)
	}
	return m, nil
}
