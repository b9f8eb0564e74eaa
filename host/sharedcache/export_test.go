package sharedcache

// SetMaxStored sets the bound on stored objects for a test and returns a
// function that puts the default back.
func SetMaxStored(n int64) (restore func()) {
	old := maxStored
	maxStored = n
	return func() { maxStored = old }
}
