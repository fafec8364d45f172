package remote

// MinHeldAsk is minHeldAsk, for the tests of package remote_test.
const MinHeldAsk = minHeldAsk
