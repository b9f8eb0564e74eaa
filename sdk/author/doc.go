// Package author is the module author's toolbox: it writes a module
// project that builds and passes its own test (New), builds a project with
// its language's toolchain and the flags weir modules need (Build), runs a
// cases file of records in and outcomes out against a module (Test), and
// runs the ABI's golden frames through a module (ABICheck). The languages
// are Go, AssemblyScript, Rust and C (Languages); each project builds
// against the SDKs of a weir checkout (FindSDK).
//
// The commands "weir new", "weir build", "weir test" and "weir abi-check"
// are this package behind flags: their output is what these functions
// write, their exit status follows the counts and errors they return.
//
// Build runs real toolchains: go (GOOS=wasip1), asc from the project's
// node_modules, Debian's /usr/bin/rustc with the wasm32 standard library,
// clang with wasi-libc. A missing one is a *MissingToolError naming the
// command that installs it.
package author
