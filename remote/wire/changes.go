package wire

import "github.com/folio-db/folio/objects"

// The change feed: GET PathChanges?since=SEQ|now&branch=B&prefix=P&feed=F
// answers with one JSON object per line (ContentJSONLines), an
// objects.Change each. feed=normal (the default) returns the changes there
// are; feed=longpoll waits up to timeout= for one; feed=continuous streams
// them, with an empty line every heartbeat= while nothing happens. A line
// with a "code" is an Error that ended the stream. HeaderSeq tells the
// sequence number the answer read up to: the since of the next request.
// A since the feed no longer keeps is 410 Gone with code "feed_reset"
// (objects.ErrFeedReset), and HeaderSeq is then the latest.
//
// feed=eventsource (or, without feed=, Accept: text/event-stream) streams
// the same changes as Server-Sent Events (ContentEventStream): each an
// event whose id is its seq and whose data is its JSON, a comment every
// heartbeat, and an EventFeedError event with an Error that ended the
// stream. A Last-Event-ID header (an EventSource reconnecting) is the
// since, whatever since= says.
const (
	PathChanges      = "v1/changes"
	PathPeers        = "v1/peers" // GET: the state of each peer folio serve --peer keeps
	ContentJSONLines = "application/x-ndjson"
	HeaderSeq        = "Folio-Seq"

	ContentEventStream = "text/event-stream"
	HeaderLastEventID  = "Last-Event-ID"
	EventFeedError     = "feed_error"
)

// Feed kinds.
const (
	FeedNormal      = "normal"
	FeedLongpoll    = "longpoll"
	FeedContinuous  = "continuous"
	FeedEventSource = "eventsource"
)

// ChangeLine is one line of a change feed: a change, or the error that
// ended it.
type ChangeLine struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	objects.Change
}
