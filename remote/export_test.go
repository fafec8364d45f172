package remote

// MinHeldAsk is minHeldAsk, for the tests of package remote_test.
const MinHeldAsk = minHeldAsk

// SetHeldAskLimit sets how many commits a push asks the remote about, for
// a test's duration.
func SetHeldAskLimit(t interface{ Cleanup(func()) }, n int) {
	old := heldAskLimit
	heldAskLimit = n
	t.Cleanup(func() { heldAskLimit = old })
}
