// Package frame encodes and decodes weir's batch frames, version 1: the
// bytes that cross the boundary between the host and a Wasm module, one
// frame per batch in each direction. sdk/ABI.md specifies every byte.
//
// The package is pure Go with no dependency but fastjson, so that both the
// host (natively) and guest SDKs compiled to Wasm use the same code: the
// host writes input frames and reads output frames; a guest reads input
// frames and writes output frames. The one exception is on amd64 hosts:
// strings of 64 bytes and more are escaped from a mask of their special
// bytes that AVX2 assembly computes 64 bytes at a time (jsonstr_amd64.s,
// chosen with golang.org/x/sys/cpu); other architectures, Wasm guests and
// builds tagged purego compute the same mask in Go. Escaping is then one
// step per special byte, not per byte (pretty-printed event.original has
// one every ~10 bytes), and FuzzAppendString checks both versions
// against a byte-by-byte definition.
//
// Documents: besides raw bytes, a module may return an output as a list of
// document operations (Ops): set a field to a JSON value or a string, copy a
// field from the input record, set a field to the input record as a string
// or to a digest of it, delete a field. The host applies the list natively
// (Applier), so heavy generic work (parsing, escaping, hashing,
// serializing) never runs in the slower Wasm guest. Hosts that do not
// advertise FlagHostOps (plain Extism hosts) get finished documents: the
// guest SDK applies the same list with the same Applier.
//
// Parsing: the host parses records with Doc, a parser of this package
// that builds a flat, pointer-free tape of the document (each value's
// kind and byte span) in one pass, finding strings' ends from the
// escaper's masks of special bytes, and applies operation lists against
// it (Applier.ApplyDoc): unchanged strings without special bytes are
// copied to documents as they are, numbers as their text. Doc accepts
// exactly what fastjson's Parser accepts (FuzzDocParse checks both and
// encoding/json), so the guest SDK, which parses with fastjson, and the
// host read records alike.
package frame
