// Package test holds the Go tests of weir's C SDK (weir.h and weir.c,
// documented in README.md): they build C modules with clang for
// wasm32-wasi (a reactor) and run them on wazero and weir's host. The
// cross-host runs of the example (weir's fast path and weir_batch, the
// Extism JS host in Node) are in sdk/compat.
package test
