// Package compat holds weir's cross-host compatibility tests: the same
// module run under weir's host (fast path and plain Extism path), under
// the official Extism Go host (go-sdk) and under the official Extism JS
// host in Node must give the same outputs; modules built with unmodified
// official PDKs (go-pdk, as-pdk) must run under weir.
package compat
