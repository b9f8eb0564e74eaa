package enrich

// ForgetSharedCaches makes the Envs created from now on start with empty
// caches (Envs already created keep theirs): benchmarks measure cold
// lookups with it.
func ForgetSharedCaches() {
	sharedCaches.mu.Lock()
	clear(sharedCaches.m)
	sharedCaches.mu.Unlock()
}
