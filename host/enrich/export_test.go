package enrich

import (
	"context"
	"net"
	"testing"
)

// ForgetSharedCaches makes the Envs created from now on start with empty
// caches (Envs already created keep theirs): benchmarks measure cold
// lookups with it.
func ForgetSharedCaches() {
	sharedCaches.mu.Lock()
	clear(sharedCaches.m)
	sharedCaches.mu.Unlock()
}

// useResolver makes HTTP requests resolve host names with the DNS server
// at addr (dnsmasq) until the test ends.
func useResolver(t testing.TB, addr string) {
	t.Helper()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	testResolver.Store(r)
	t.Cleanup(func() { testResolver.Store(nil) })
}
