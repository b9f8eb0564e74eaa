//go:build wasip1

// The functions here are called by the host through //go:wasmexport, which
// staticcheck does not see.
//lint:file-ignore U1000 exported to the host with go:wasmexport

package weir

import (
	"unsafe"

	"github.com/extism/go-pdk"
)

// inBuf is where the host writes input frames (weir_alloc). It lives in a
// package variable so the garbage collector keeps it, and Go's collector
// does not move objects, so its address stays valid.
var inBuf []byte

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func packed(b []byte) int64 { return int64(uint64(addr(b))<<32 | uint64(uint32(len(b)))) }

// weirABIVersion is the weir_abi_version export: the frame format version.
//
//go:wasmexport weir_abi_version
func weirABIVersion() int32 { return ABIVersion }

// weirAlloc is the weir_alloc export: a pointer to size writable bytes in
// linear memory, the module's input buffer until the next weir_alloc (the
// host writes every frame that fits there). It grows only here.
//
//go:wasmexport weir_alloc
func weirAlloc(size int32) int32 {
	if size < 0 {
		return 0
	}
	if cap(inBuf) < int(size) || cap(inBuf) == 0 {
		inBuf = make([]byte, max(int(size), 64<<10))
	}
	inBuf = inBuf[:size]
	return int32(addr(inBuf[:cap(inBuf)]))
}

// weirTransform is the weir_transform export: it reads the input frame the
// host wrote at ptr (which must be the weir_alloc buffer) and returns
// (out_ptr << 32) | out_len of the output or error frame, valid until the
// next call.
//
//go:wasmexport weir_transform
func weirTransform(ptr, n int32) int64 {
	if n < 0 || cap(inBuf) < int(n) || uint32(ptr) != addr(inBuf[:cap(inBuf)]) {
		return packed(state.errorFrame("weir_transform: the frame is not in the buffer weir_alloc returned"))
	}
	return packed(Batch(inBuf[:n]))
}

// weirManifest is the weir_manifest export: (ptr << 32) | len of the
// module's JSON manifest.
//
//go:wasmexport weir_manifest
func weirManifest() int64 { return packed(Manifest()) }

// weirBatch is the weir_batch export, the plain Extism entry point: the
// call's input is an input frame, its output the output or error frame.
//
//go:wasmexport weir_batch
func weirBatch() int32 {
	pdk.Output(Batch(pdk.Input()))
	return 0
}

// Config returns the value of a configuration key set by the host (Extism
// config; weir passes a stage's module config).
func Config(key string) (string, bool) { return pdk.GetConfig(key) }

// LogDebug logs a message at debug level through the host.
func LogDebug(msg string) { pdk.Log(pdk.LogDebug, msg) }

// LogInfo logs a message at info level through the host.
func LogInfo(msg string) { pdk.Log(pdk.LogInfo, msg) }

// LogWarn logs a message at warn level through the host.
func LogWarn(msg string) { pdk.Log(pdk.LogWarn, msg) }

// LogError logs a message at error level through the host.
func LogError(msg string) { pdk.Log(pdk.LogError, msg) }
