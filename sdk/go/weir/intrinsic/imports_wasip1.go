//go:build wasip1

package intrinsic

import "unsafe"

// Host functions of weir:host/v1 (sdk/ABI.md). Pointers are guest
// addresses; lengths are bytes. unsafe.Pointer arguments keep the Go
// objects alive during the call.

//go:wasmimport weir:host/v1 digest
func hostDigest(algo uint32, ptr unsafe.Pointer, n uint32, out unsafe.Pointer) int32

//go:wasmimport weir:host/v1 digest_hex
func hostDigestHex(algo uint32, ptr unsafe.Pointer, n uint32, out unsafe.Pointer) int32

//go:wasmimport weir:host/v1 hex_encode
func hostHexEncode(ptr unsafe.Pointer, n uint32, out unsafe.Pointer) int32

//go:wasmimport weir:host/v1 base64_encode
func hostBase64Encode(variant uint32, ptr unsafe.Pointer, n uint32, out unsafe.Pointer) int32

//go:wasmimport weir:host/v1 base64_decode
func hostBase64Decode(variant uint32, ptr unsafe.Pointer, n uint32, out unsafe.Pointer, outCap uint32) int32

//go:wasmimport weir:host/v1 json_escape
func hostJSONEscape(ptr unsafe.Pointer, n uint32, out unsafe.Pointer, outCap uint32) int32

func p(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// check turns the host's status codes into panics: a negative result here
// means the host broke its contract (or the module passed a bad buffer).
func check(n int32, what string) int {
	if n < 0 {
		panic("intrinsic: host function " + what + " failed")
	}
	return int(n)
}

func digest(algo byte, data, out []byte) int {
	return check(hostDigest(uint32(algo), p(data), uint32(len(data)), p(out)), "digest")
}

func digestHex(algo byte, data, out []byte) int {
	return check(hostDigestHex(uint32(algo), p(data), uint32(len(data)), p(out)), "digest_hex")
}

func hexEncode(data, out []byte) int {
	return check(hostHexEncode(p(data), uint32(len(data)), p(out)), "hex_encode")
}

func base64Encode(variant int, data, out []byte) int {
	return check(hostBase64Encode(uint32(variant), p(data), uint32(len(data)), p(out)), "base64_encode")
}

func base64Decode(variant int, s, out []byte) int {
	return int(hostBase64Decode(uint32(variant), p(s), uint32(len(s)), p(out), uint32(len(out))))
}

func jsonEscape(s, out []byte) int {
	return check(hostJSONEscape(p(s), uint32(len(s)), p(out), uint32(len(out))), "json_escape")
}
