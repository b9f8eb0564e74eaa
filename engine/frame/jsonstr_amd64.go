//go:build !purego

package frame

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasAVX2 selects maskBlocksAVX2. A variable so that the tests can run
// the Go version too.
var hasAVX2 = cpu.X86.HasAVX2

// hasQuotesSSSE3 selects escapeQuotesSSSE3 in appendQuotedMask. A
// variable so that the tests can run without it too.
var hasQuotesSSSE3 = cpu.X86.HasSSSE3 && cpu.X86.HasPOPCNT

// escapeQuotes copies the start of s to buf[o:] escaped, 16 bytes at a
// time, as long as its only specials are '"' and '\\' (compact JSON
// records, event.original), and returns how many bytes of s it read and
// the new o. buf needs room for 2*len(s)+16 bytes at o.
func escapeQuotes(buf []byte, o int, s []byte) (read, next int) {
	if !hasQuotesSSSE3 || len(s) < 16 {
		return 0, o
	}
	read, n := escapeQuotesSSSE3(&buf[o], &s[0], len(s), &quoteShuffles)
	return read, o + n
}

// escapeQuotesSSSE3 is escapeQuotes in assembly (jsonstr_amd64.s).
//
//go:noescape
func escapeQuotesSSSE3(dst, src *byte, n int, tab *[256][16]byte) (read, written int)

// quoteShuffles[m] is the PSHUFB control that writes 8 bytes (indexes
// 0-7) with a backslash (index 8) before each byte whose bit is set in
// m.
var quoteShuffles = func() (t [256][16]byte) {
	for m := range 256 {
		o := 0
		for i := range 8 {
			if m>>i&1 != 0 {
				t[m][o] = 8
				o++
			}
			t[m][o] = byte(i)
			o++
		}
		for ; o < 16; o++ {
			t[m][o] = 0x80
		}
	}
	return t
}()

// maskBlocks sets out[b] to the mask of specials of the b-th 64-byte
// block at p, for n blocks: bit k is set when byte k of the block is
// below 0x20, '"', '\\' or 0x80 and above.
func maskBlocks(p unsafe.Pointer, n int, out *uint64) {
	if hasAVX2 {
		maskBlocksAVX2(p, n, out)
		return
	}
	maskBlocksGo(p, n, out)
}

// maskBlocksAVX2 is maskBlocks with AVX2 (jsonstr_amd64.s): two 32-byte
// loads per block, one signed comparison (below 0x20, or 0x80 and above,
// which are negative as signed bytes) and two equalities per load.
//
//go:noescape
func maskBlocksAVX2(p unsafe.Pointer, n int, out *uint64)
