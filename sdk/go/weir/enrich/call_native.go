//go:build !wasip1

package enrich

// call serves a call in native builds: with the function SetHost
// installed, or ErrNoHost.
func call(fn string, req []byte) ([]byte, error) {
	if host == nil {
		return nil, ErrNoHost
	}
	return host(fn, req), nil
}
