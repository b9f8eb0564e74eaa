//go:build !amd64 || purego

package frame

import "unsafe"

// hasAVX2 is false where there is no assembly version.
var hasAVX2 = false

// maskBlocks sets out[b] to the mask of specials of the b-th 64-byte
// block at p, for n blocks (maskBlocksGo; amd64 has an AVX2 version).
func maskBlocks(p unsafe.Pointer, n int, out *uint64) { maskBlocksGo(p, n, out) }

// hasQuotesSSSE3 is false where there is no assembly version.
var hasQuotesSSSE3 = false

// escapeQuotes escapes nothing where there is no assembly version (see
// the amd64 one): appendQuotedMask does it all.
func escapeQuotes(buf []byte, o int, s []byte) (read, next int) { return 0, o }
