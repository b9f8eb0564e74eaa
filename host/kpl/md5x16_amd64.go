//go:build amd64 && gc && !purego

package kpl

import (
	"crypto/md5"
	"encoding/binary"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// md5x16t runs n/64 MD5 blocks (n a multiple of 64, at least 64) in each
// of the 16 lanes of state (the lanes' A, B, C and D words, 16 of each),
// lane i reading from p[i] onwards. Every lane is hashed: one not in use
// must point at n readable bytes (another lane's) and its state is
// overwritten. md5x16_amd64.s: md5-simd's AVX-512 kernel with plain loads
// and a transpose instead of gathers.
//
//go:noescape
func md5x16t(state *uint32, p *[16]uintptr, n int)

// md5x16Consts are MD5's 64 round constants, each repeated 16 times (one
// per lane), as md5x16t reads them.
//
//lint:ignore U1000 read by md5x16_amd64.s
var md5x16Consts = func() []uint32 {
	k := [64]uint32{
		0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
		0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
		0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
		0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
		0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
		0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
		0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
		0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
	}
	out := make([]uint32, 0, 16*len(k))
	for _, c := range k {
		for range 16 {
			out = append(out, c)
		}
	}
	return out
}()

// hasX16 reports whether md5x16t runs here (AVX-512 F and DQ, as
// md5-simd requires for its kernel).
var hasX16 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ

// x16Lanes is the state of sum16's 16 lanes: their MD5 words and the
// final blocks (the buffer's last bytes, padding and length) each lane
// hashes last. Taken from a pool (on the heap: md5x16t is given their
// addresses, which a moving stack would invalidate).
type x16Lanes struct {
	state [4][16]uint32
	tails [16][2 * md5.BlockSize]byte
}

var x16Pool = sync.Pool{New: func() any { return new(x16Lanes) }}

// sum16 writes the MD5 of bufs[i] into out[i] for each i of order,
// hashing 16 buffers at once with md5x16t straight from their memory: a
// lane that finishes a buffer takes the next one of order (longest first
// keeps the lanes full to the end).
func sum16(bufs [][]byte, order []int, out [][DigestSize]byte) {
	x := x16Pool.Get().(*x16Lanes)
	defer x16Pool.Put(x)
	type lane struct {
		buf  int    // index in bufs
		rest []byte // what remains to hash of the current segment
		tail []byte // the final blocks, after rest; nil once in them
	}
	var lanes [16]lane
	var mask uint64 // lanes hashing a buffer
	next := 0
	// take gives lane l the next buffer of order, if any.
	take := func(l int) {
		if next == len(order) {
			return
		}
		i := order[next]
		next++
		b := bufs[i]
		body := b[:len(b)&^(md5.BlockSize-1)]
		// The final blocks: the last bytes, 0x80, zeros, the length in
		// bits (little-endian) ending a block.
		t := x.tails[l][:]
		n := copy(t, b[len(body):])
		t[n] = 0x80
		size := md5.BlockSize
		if n >= md5.BlockSize-8 {
			size = 2 * md5.BlockSize
		}
		clear(t[n+1 : size-8])
		binary.LittleEndian.PutUint64(t[size-8:], uint64(len(b))<<3)
		lanes[l] = lane{buf: i, rest: body, tail: t[:size]}
		if len(body) == 0 {
			lanes[l].rest, lanes[l].tail = t[:size], nil
		}
		x.state[0][l], x.state[1][l], x.state[2][l], x.state[3][l] = 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476
		mask |= 1 << l
	}
	for l := range lanes {
		take(l)
	}
	var p [16]uintptr
	for mask != 0 {
		// Every lane in use runs as many blocks as the shortest segment
		// left among them holds; the others read the first one's.
		n, first := math.MaxInt, -1
		for l := range lanes {
			if mask&(1<<l) != 0 {
				n = min(n, len(lanes[l].rest))
				p[l] = uintptr(unsafe.Pointer(unsafe.SliceData(lanes[l].rest)))
				if first < 0 {
					first = l
				}
			}
		}
		for l := range lanes {
			if mask&(1<<l) == 0 {
				p[l] = p[first]
			}
		}
		md5x16t(&x.state[0][0], &p, n)
		runtime.KeepAlive(bufs)
		for l := range lanes {
			if mask&(1<<l) == 0 {
				continue
			}
			ln := &lanes[l]
			if ln.rest = ln.rest[n:]; len(ln.rest) > 0 {
				continue
			}
			if ln.tail != nil {
				ln.rest, ln.tail = ln.tail, nil
				continue
			}
			d := &out[ln.buf]
			for w := range 4 {
				binary.LittleEndian.PutUint32(d[4*w:], x.state[w][l])
			}
			mask &^= 1 << l
			take(l)
		}
	}
}
