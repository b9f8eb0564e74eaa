// Package rust holds the Go tests of weir's Rust SDK (src/lib.rs,
// documented in README.md): they build Rust modules with Debian's rustc
// for wasm32-unknown-unknown and run them on wazero and weir's host. The
// cross-host runs of the example (weir's fast path and weir_batch, the
// Extism JS host in Node) are in sdk/compat.
package rust
