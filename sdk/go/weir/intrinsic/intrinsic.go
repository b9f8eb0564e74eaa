package intrinsic

import (
	"errors"
	"slices"

	"github.com/weirhq/weir/engine/frame"
)

// Digest algorithms (the ids of sdk/ABI.md, shared with frame.Digest*).
const (
	SHA256 = frame.DigestSHA256
	MD5    = frame.DigestMD5
	SHA1   = frame.DigestSHA1
)

// Base64 variants.
const (
	// StdEncoding is RFC 4648 base64 with padding.
	StdEncoding = 0
	// URLEncoding is RFC 4648 base64url with padding.
	URLEncoding = 1
	// RawStdEncoding is StdEncoding without padding.
	RawStdEncoding = 2
	// RawURLEncoding is URLEncoding without padding.
	RawURLEncoding = 3
)

// ErrInvalid is returned for invalid input (an unknown algorithm or
// variant, malformed base64).
var ErrInvalid = errors.New("intrinsic: invalid input")

func digestSize(algo byte) int {
	switch algo {
	case SHA256:
		return 32
	case MD5:
		return 16
	case SHA1:
		return 20
	}
	return 0
}

// AppendDigest appends the raw digest of data. It panics on an unknown
// algorithm.
func AppendDigest(dst []byte, algo byte, data []byte) []byte {
	n := digestSize(algo)
	if n == 0 {
		panic("intrinsic: unknown digest algorithm")
	}
	dst = slices.Grow(dst, n)
	got := digest(algo, data, dst[len(dst):len(dst)+n])
	return dst[:len(dst)+got]
}

// AppendDigestHex appends the lower-case hex digest of data. It panics on
// an unknown algorithm.
func AppendDigestHex(dst []byte, algo byte, data []byte) []byte {
	n := 2 * digestSize(algo)
	if n == 0 {
		panic("intrinsic: unknown digest algorithm")
	}
	dst = slices.Grow(dst, n)
	got := digestHex(algo, data, dst[len(dst):len(dst)+n])
	return dst[:len(dst)+got]
}

// SHA256Hex returns the lower-case hex SHA-256 of data.
func SHA256Hex(data []byte) string { return string(AppendDigestHex(nil, SHA256, data)) }

// MD5Hex returns the lower-case hex MD5 of data.
func MD5Hex(data []byte) string { return string(AppendDigestHex(nil, MD5, data)) }

// SHA1Hex returns the lower-case hex SHA-1 of data.
func SHA1Hex(data []byte) string { return string(AppendDigestHex(nil, SHA1, data)) }

// AppendHex appends the lower-case hex encoding of data.
func AppendHex(dst, data []byte) []byte {
	dst = slices.Grow(dst, 2*len(data))
	got := hexEncode(data, dst[len(dst):len(dst)+2*len(data)])
	return dst[:len(dst)+got]
}

// Hex returns the lower-case hex encoding of data.
func Hex(data []byte) string { return string(AppendHex(nil, data)) }

// AppendBase64 appends the base64 encoding of data in the given variant.
// It panics on an unknown variant.
func AppendBase64(dst []byte, variant int, data []byte) []byte {
	if variant < 0 || variant > RawURLEncoding {
		panic("intrinsic: unknown base64 variant")
	}
	n := (len(data) + 2) / 3 * 4
	dst = slices.Grow(dst, n)
	got := base64Encode(variant, data, dst[len(dst):len(dst)+n])
	return dst[:len(dst)+got]
}

// Base64Encode returns the base64 encoding of data in the given variant.
func Base64Encode(variant int, data []byte) string {
	return string(AppendBase64(nil, variant, data))
}

// AppendBase64Decode appends the decoding of base64 text s.
func AppendBase64Decode(dst []byte, variant int, s []byte) ([]byte, error) {
	if variant < 0 || variant > RawURLEncoding {
		return dst, ErrInvalid
	}
	n := len(s)/4*3 + 3
	dst = slices.Grow(dst, n)
	got := base64Decode(variant, s, dst[len(dst):len(dst)+n])
	if got < 0 {
		return dst, ErrInvalid
	}
	return dst[:len(dst)+got], nil
}

// Base64Decode returns the decoding of base64 text s.
func Base64Decode(variant int, s []byte) ([]byte, error) {
	return AppendBase64Decode(nil, variant, s)
}

// AppendJSONString appends s as a quoted JSON string, escaped by the rules
// of frame.AppendString (the bytes every weir host and SDK write).
func AppendJSONString(dst, s []byte) []byte {
	n := len(s) + len(s)/8 + 18
	for {
		dst = slices.Grow(dst, n)
		need := jsonEscape(s, dst[len(dst):len(dst)+n])
		if need <= n {
			return dst[:len(dst)+need]
		}
		n = need
	}
}

// JSONEscape returns s as a quoted JSON string.
func JSONEscape(s []byte) []byte { return AppendJSONString(nil, s) }
