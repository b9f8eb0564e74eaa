package enrich

// host, when set, serves the calls instead of weir's host functions.
var host func(function string, request []byte) []byte

// SetHost installs a function that serves the host function calls in
// place of weir's host: it gets a function name and the request bytes and
// returns the response bytes, as the weir host does (host/enrich's
// Env.Call is such a function). Native builds need it (without it every
// call fails with ErrNoHost); in Wasm it lets a module's tests, run on a
// plain Wasm runtime, answer the lookups themselves. nil removes it.
func SetHost(h func(function string, request []byte) []byte) { host = h }
