// Package intrinsic gives Go modules weir's native helpers: hashing,
// hex and base64, and JSON string escaping, computed by the host (imports
// from the Wasm module "weir:host/v1") instead of in the slower Wasm guest
// (sha256 of a 1.6 KB record: ~70 µs in Go-on-Wasm, ~1 µs natively).
//
// It is a separate package so that a module that does not use it does not
// import weir:host/v1 (Go's linker drops unused imports): such a module
// still runs on plain Extism hosts, while a module that uses intrinsics
// needs weir (or a host that provides weir:host/v1).
//
// Outside Wasm (native tests) the same functions run in Go with the same
// results.
package intrinsic
