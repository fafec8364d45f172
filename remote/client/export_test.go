package client

// SetStoreLimits makes a Store send its objects on their own past pending
// bytes, and its quarantines refuse more than quarantine bytes.
func SetStoreLimits(s *Store, pending, quarantine int) {
	s.pendingMax, s.quarantineMax = pending, quarantine
}
