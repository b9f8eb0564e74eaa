//go:build !purego

package frame

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasAVX2 selects maskBlocksAVX2. A variable so that the tests can run
// the Go version too.
var hasAVX2 = cpu.X86.HasAVX2

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
