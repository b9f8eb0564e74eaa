//go:build wasip1

package enrich

import (
	"encoding/binary"
	"errors"
)

//go:wasmimport extism:host/user weir_dns
func hostDNS(req uint64) uint64

//go:wasmimport extism:host/user weir_http
func hostHTTP(req uint64) uint64

//go:wasmimport extism:host/user weir_dynamodb
func hostDynamoDB(req uint64) uint64

//go:wasmimport extism:host/user weir_cache
func hostCache(req uint64) uint64

//go:wasmimport extism:host/user weir_mmdb
func hostMMDB(req uint64) uint64

// Extism kernel memory (extism:host/env), used directly: a whole request
// or response moves in 8-byte host calls, the last partial word as one
// overlapping 8-byte access instead of up to 7 single-byte calls (go-pdk's
// Memory.Store and ReadBytes).

//go:wasmimport extism:host/env alloc
func kernelAlloc(n uint64) uint64

//go:wasmimport extism:host/env free
func kernelFree(off uint64)

//go:wasmimport extism:host/env length
func kernelLength(off uint64) uint64

//go:wasmimport extism:host/env store_u64
func kernelStoreU64(off, v uint64)

//go:wasmimport extism:host/env load_u64
func kernelLoadU64(off uint64) uint64

//go:wasmimport extism:host/env store_u8
func kernelStoreU8(off uint64, v uint32)

//go:wasmimport extism:host/env load_u8
func kernelLoadU8(off uint64) uint32

// store copies b to the kernel block at off (len(b) bytes long).
func store(off uint64, b []byte) {
	n := len(b)
	if n < 8 {
		for i, c := range b {
			kernelStoreU8(off+uint64(i), uint32(c))
		}
		return
	}
	i := 0
	for ; i+8 <= n; i += 8 {
		kernelStoreU64(off+uint64(i), binary.LittleEndian.Uint64(b[i:]))
	}
	if i < n {
		kernelStoreU64(off+uint64(n-8), binary.LittleEndian.Uint64(b[n-8:]))
	}
}

// load copies the kernel block at off into b (len(b) bytes).
func load(off uint64, b []byte) {
	n := len(b)
	if n < 8 {
		for i := range b {
			b[i] = byte(kernelLoadU8(off + uint64(i)))
		}
		return
	}
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], kernelLoadU64(off+uint64(i)))
	}
	if i < n {
		binary.LittleEndian.PutUint64(b[n-8:], kernelLoadU64(off+uint64(n-8)))
	}
}

// call stores req in Extism kernel memory, calls the host function and
// reads its response (or hands req to the function SetHost installed).
func call(fn string, req []byte) ([]byte, error) {
	if host != nil {
		return host(fn, req), nil
	}
	var f func(uint64) uint64
	switch fn {
	case FuncDNS:
		f = hostDNS
	case FuncHTTP:
		f = hostHTTP
	case FuncDynamoDB:
		f = hostDynamoDB
	case FuncCache:
		f = hostCache
	case FuncMMDB:
		f = hostMMDB
	default:
		return nil, errors.New("enrich: unknown host function " + fn)
	}
	in := kernelAlloc(uint64(len(req)))
	if in == 0 && len(req) > 0 {
		return nil, errors.New("enrich: " + fn + ": kernel memory full")
	}
	store(in, req)
	off := f(in)
	kernelFree(in)
	if off == 0 {
		return nil, errors.New("enrich: " + fn + ": the host returned no response (kernel memory full?)")
	}
	b := make([]byte, kernelLength(off))
	load(off, b)
	kernelFree(off)
	return b, nil
}
