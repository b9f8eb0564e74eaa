package host

import (
	"encoding/binary"
	"fmt"
)

// kernel is the Extism kernel memory of one instance, kept on the host side
// in a Go byte arena instead of a second Wasm module.
//
// Layout: blocks are laid out one after the other from offset 0; each has a
// 16-byte header (status u32, capacity u32, length u64) followed by its
// data. An offset handed to the guest is the offset of a block's data, so it
// is never 0 (0 is null). Capacities are multiples of 8, so data offsets are
// 8-byte aligned. Freed blocks are reused first-fit (searching only the
// most recent frees) and the last block gives its space back to the bump
// pointer. reset empties the arena between calls, as Extism hosts do.
//
// Every access is bounds-checked against the used part of the arena: a bad
// offset never panics; it records a fault (the first one wins) and the call
// fails with ErrKernel once it returns.
type kernel struct {
	mem   []byte
	top   uint64 // end of the last block
	frees []uint64
	limit uint64 // maximum arena size in bytes
	fault error
}

const (
	blockHeader = 16
	blockActive = 0x6b6c6241 // "Ablk"
	blockFree   = 0x6b6c6246 // "Fblk"
	// freeSearch bounds the first-fit search so alloc stays O(1).
	freeSearch = 16
	// keepArena is the arena capacity kept across calls; a larger arena is
	// released by reset.
	keepArena = 16 << 20
)

func (k *kernel) failf(format string, args ...any) {
	if k.fault == nil {
		k.fault = fmt.Errorf("%w: "+format, append([]any{ErrKernel}, args...)...)
	}
}

// reset frees every block and clears the fault.
func (k *kernel) reset() {
	k.top = 0
	k.frees = k.frees[:0]
	k.fault = nil
	if cap(k.mem) > keepArena {
		k.mem = nil
	}
}

// alloc returns the offset of n fresh bytes, or 0 when n is 0 or the arena
// is full.
func (k *kernel) alloc(n uint64) uint64 {
	if n == 0 || n > k.limit {
		return 0
	}
	size := (n + 7) &^ 7
	for i := len(k.frees) - 1; i >= 0 && i >= len(k.frees)-freeSearch; i-- {
		off := k.frees[i]
		h := k.mem[off-blockHeader : off]
		if uint64(binary.LittleEndian.Uint32(h[4:])) >= size {
			k.frees = append(k.frees[:i], k.frees[i+1:]...)
			binary.LittleEndian.PutUint32(h, blockActive)
			binary.LittleEndian.PutUint64(h[8:], n)
			return off
		}
	}
	end := k.top + blockHeader + size
	if end > k.limit {
		return 0
	}
	if end > uint64(len(k.mem)) {
		if end > uint64(cap(k.mem)) {
			newCap := max(end, 2*uint64(cap(k.mem)), 4096)
			newCap = min(newCap, k.limit)
			m := make([]byte, end, newCap)
			copy(m, k.mem[:k.top])
			k.mem = m
		} else {
			k.mem = k.mem[:end]
		}
	}
	h := k.mem[k.top : k.top+blockHeader]
	binary.LittleEndian.PutUint32(h, blockActive)
	binary.LittleEndian.PutUint32(h[4:], uint32(size))
	binary.LittleEndian.PutUint64(h[8:], n)
	off := k.top + blockHeader
	k.top = end
	return off
}

// block returns the capacity and length of the active block at off.
func (k *kernel) block(off uint64) (capacity, length uint64, ok bool) {
	if off < blockHeader || off > k.top {
		return 0, 0, false
	}
	h := k.mem[off-blockHeader : off]
	if binary.LittleEndian.Uint32(h) != blockActive {
		return 0, 0, false
	}
	capacity = uint64(binary.LittleEndian.Uint32(h[4:]))
	length = binary.LittleEndian.Uint64(h[8:])
	if capacity > k.top-off || length > capacity {
		return 0, 0, false // a header the guest overwrote
	}
	return capacity, length, true
}

// free releases the block at off. Freeing 0, a freed block or something
// that is not a block is ignored (PDKs disagree on who frees what).
func (k *kernel) free(off uint64) {
	capacity, _, ok := k.block(off)
	if !ok {
		return
	}
	binary.LittleEndian.PutUint32(k.mem[off-blockHeader:], blockFree)
	if off+capacity == k.top {
		k.top = off - blockHeader
		return
	}
	k.frees = append(k.frees, off)
}

// length is the length of the block at off, 0 if off is not a block.
func (k *kernel) length(off uint64) uint64 {
	_, n, _ := k.block(off)
	return n
}

// bytes returns the data of the block at off (aliasing the arena), and
// false if off is not a block.
func (k *kernel) bytes(off uint64) ([]byte, bool) {
	_, n, ok := k.block(off)
	if !ok {
		return nil, false
	}
	return k.mem[off : off+n : off+n], true
}

// span returns n bytes at off (aliasing the arena), and false if they are
// not inside the used arena.
func (k *kernel) span(off, n uint64) ([]byte, bool) {
	if off > k.top || n > k.top-off {
		return nil, false
	}
	return k.mem[off : off+n : off+n], true
}

func (k *kernel) loadU8(off uint64) uint32 {
	if off >= k.top {
		k.failf("load_u8 at offset %d is outside kernel memory (%d bytes in use)", off, k.top)
		return 0
	}
	return uint32(k.mem[off])
}

func (k *kernel) loadU64(off uint64) uint64 {
	if off > k.top || k.top-off < 8 {
		k.failf("load_u64 at offset %d is outside kernel memory (%d bytes in use)", off, k.top)
		return 0
	}
	return binary.LittleEndian.Uint64(k.mem[off:])
}

func (k *kernel) storeU8(off uint64, v uint32) {
	if off >= k.top {
		k.failf("store_u8 at offset %d is outside kernel memory (%d bytes in use)", off, k.top)
		return
	}
	k.mem[off] = byte(v)
}

func (k *kernel) storeU64(off, v uint64) {
	if off > k.top || k.top-off < 8 {
		k.failf("store_u64 at offset %d is outside kernel memory (%d bytes in use)", off, k.top)
		return
	}
	binary.LittleEndian.PutUint64(k.mem[off:], v)
}

// write allocates a block holding b and returns its offset (0 when b is
// empty or the arena is full).
func (k *kernel) write(b []byte) uint64 {
	off := k.alloc(uint64(len(b)))
	if off != 0 {
		copy(k.mem[off:], b)
	}
	return off
}
