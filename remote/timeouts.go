package remote

import (
	"fmt"
	"time"

	"github.com/folio-db/folio/objects/repo"
	"github.com/folio-db/folio/remote/client"
)

// TimeoutKey is the setting that bounds how long folio waits for a remote
// to connect, answer, or send more (a Go duration: 30s, 2m).
const TimeoutKey = "remote.timeout"

// ErrBadTimeout: a timeout that is not a positive duration.
var ErrBadTimeout = fmt.Errorf("remote: bad timeout (want a duration such as 30s or 2m)")

// ConfiguredTimeouts returns the timeouts for talking to remotes: those
// of flag when it is positive, else of the TimeoutKey setting in cfg, else
// client.DefaultTimeouts.
func ConfiguredTimeouts(cfg repo.Config, flag time.Duration) (client.Timeouts, error) {
	if flag > 0 {
		return client.TimeoutsOf(flag), nil
	}
	v, ok := cfg[TimeoutKey]
	if !ok {
		return client.DefaultTimeouts, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return client.Timeouts{}, fmt.Errorf("%w: %s = %q", ErrBadTimeout, TimeoutKey, v)
	}
	return client.TimeoutsOf(d), nil
}
