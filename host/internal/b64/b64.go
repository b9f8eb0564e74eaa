// Package b64 decodes standard base64 (RFC 4648, with padding) fast: 64
// characters at a time with AVX-512 VBMI where the CPU has it, the rest
// (the tail, padding, line breaks, anything invalid) with
// github.com/segmentio/asm/base64 (AVX2), whose results and errors are
// encoding/base64's.
package b64

import (
	asmbase64 "github.com/segmentio/asm/base64"
)

// Decode decodes src into dst as base64.StdEncoding.Decode does (dst
// must hold base64.StdEncoding.DecodedLen(len(src)) bytes) and returns
// the bytes written; on invalid input, an error (its offset may differ
// from encoding/base64's: decode again with it for one naming the byte).
func Decode(dst, src []byte) (int, error) {
	nd, ns := 0, 0
	if hasVBMI && len(src) >= 64 && len(dst) >= len(src)/64*48 {
		nd, ns = decodeVBMI(dst, src)
	}
	n, err := asmbase64.StdEncoding.Decode(dst[nd:], src[ns:])
	return nd + n, err
}
