package remote

import (
	"context"
	"errors"
	"time"

	"github.com/folio-db/folio/objects"
	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
	"github.com/folio-db/folio/remote/wire"
)

// ChangeSource is a change feed to follow: a server's (ServerFeed) or a
// repository's on this machine (LocalFeed).
type ChangeSource interface {
	// Follow calls fn with the changes after q.Since (or after the latest,
	// with q.Now) as they come, for a while, and returns the sequence
	// number it read up to: the next call goes on from there. A since the
	// feed no longer keeps is an error wrapping objects.ErrFeedReset, with
	// the latest sequence number.
	Follow(ctx context.Context, q FeedQuery, fn func(objects.Change) error) (uint64, error)
}

// FeedQuery says which changes to follow.
type FeedQuery struct {
	Since  uint64
	Now    bool // from the latest change on, ignoring Since
	Branch string
	Prefix string
}

// ServerFeed follows a server's feed with one continuous request at a
// time.
type ServerFeed struct {
	Client    *client.Client
	Heartbeat time.Duration // 0: the server's default
	Opened    func()        // told each time a request is taken (see client.ChangesRequest)
}

// Follow implements ChangeSource.
func (s ServerFeed) Follow(ctx context.Context, q FeedQuery, fn func(objects.Change) error) (uint64, error) {
	return s.Client.Changes(ctx, client.ChangesRequest{Since: q.Since, Now: q.Now, Feed: wire.FeedContinuous,
		Branch: q.Branch, Prefix: q.Prefix, Heartbeat: s.Heartbeat, Opened: s.Opened}, fn)
}

// LocalFeed polls the feed of a repository on this machine, opening it
// only for each read so that other commands can still write to it.
type LocalFeed struct {
	Open     func(ctx context.Context) (*repo.Repo, error) // read-only
	Interval time.Duration                                 // between reads
}

// Follow implements ChangeSource: one read, then a wait of Interval.
func (l LocalFeed) Follow(ctx context.Context, q FeedQuery, fn func(objects.Change) error) (uint64, error) {
	r, err := l.Open(ctx)
	if err != nil {
		return q.Since, err
	}
	if q.Now {
		if q.Since, err = r.LatestChange(ctx); err != nil {
			r.Close()
			return q.Since, err
		}
	}
	changes, pos, err := r.Changes(ctx, repo.ChangesQuery{Since: q.Since, Branch: q.Branch, Prefix: q.Prefix})
	r.Close()
	if err != nil {
		return pos, err
	}
	for _, c := range changes {
		if err := fn(c); err != nil {
			return pos, err
		}
	}
	return pos, sleep(ctx, l.Interval)
}

// WatchOptions configure Watch.
type WatchOptions struct {
	FeedQuery
	// Backoff is the first wait after a failure; it doubles up to
	// MaxBackoff while failures go on. Zero: one second, one minute.
	Backoff, MaxBackoff time.Duration
	// OnReset is told when the feed no longer held the changes asked for
	// and Watch went on from latest; OnError of each failure it retries.
	OnReset func(latest uint64)
	OnError func(err error)
}

// Watch follows src and calls fn with each change, until ctx ends (nil),
// fn fails, or the source refuses the credentials. It reconnects after
// failures, waiting longer each time, and goes on from the latest change
// after a reset.
func Watch(ctx context.Context, src ChangeSource, opts WatchOptions, fn func(objects.Change) error) error {
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	q, wait := opts.FeedQuery, opts.Backoff
	var fnErr error
	for ctx.Err() == nil {
		pos, err := src.Follow(ctx, q, func(c objects.Change) error {
			if fnErr = fn(c); fnErr != nil {
				return fnErr
			}
			wait = opts.Backoff // something came through: the source is fine
			return nil
		})
		switch {
		case fnErr != nil:
			return fnErr
		case ctx.Err() != nil:
			return nil
		case client.IsAuthError(err):
			return err
		case errors.Is(err, objects.ErrFeedReset):
			q = FeedQuery{Since: pos, Branch: q.Branch, Prefix: q.Prefix}
			if opts.OnReset != nil {
				opts.OnReset(pos)
			}
			continue
		case err != nil:
			if opts.OnError != nil {
				opts.OnError(err)
			}
			sleep(ctx, wait)
			wait = min(2*wait, opts.MaxBackoff)
		}
		if !q.Now || pos != 0 { // pos 0 after since=now: it never got that far
			q.Since, q.Now = pos, false
		}
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// FeedOf returns the feed of a remote, with its token (see TokenFor).
func FeedOf(rm Remote, opts Options) (ServerFeed, error) {
	c, err := newClient(rm, opts)
	return ServerFeed{Client: c}, err
}
