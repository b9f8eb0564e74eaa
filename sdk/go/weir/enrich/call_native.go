//go:build !wasip1

package enrich

// host serves calls in native builds.
var host func(function string, request []byte) []byte

// SetHost installs the function that serves host function calls in native
// builds (tests): it gets a function name and the request bytes and
// returns the response bytes, as the weir host does. host/enrich's
// Env.Call is such a function. nil removes it.
func SetHost(h func(function string, request []byte) []byte) { host = h }

func call(fn string, req []byte) ([]byte, error) {
	if host == nil {
		return nil, ErrNoHost
	}
	return host(fn, req), nil
}
