// Package assemblyscript holds the Go tests of weir's AssemblyScript SDK
// (weir.ts, documented in README.md): they build AssemblyScript modules
// with the real asc toolchain from tools/node and run them on wazero.
package assemblyscript
