//go:build amd64 && gc && !purego

package b64

import "golang.org/x/sys/cpu"

// hasVBMI reports whether decodeVBMI runs here.
var hasVBMI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VBMI

// decodeVBMI decodes src 64 characters at a time into 48 bytes each,
// while every character of a block is of the standard alphabet (no
// padding, no line break), and returns the bytes written to dst and read
// from src (a multiple of 64). dst must hold len(src)/64*48 bytes.
// b64_amd64.s.
//
//go:noescape
func decodeVBMI(dst, src []byte) (nd, ns int)

// The tables of decodeVBMI (read by b64_amd64.s only).
var (
	//lint:ignore U1000 read by b64_amd64.s
	// vbmiLookup maps a character's low 7 bits to its 6-bit value, 0x80
	// for characters outside the alphabet.
	vbmiLookup = func() (t [128]byte) {
		for i := range t {
			t[i] = 0x80
		}
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		for v, c := range []byte(alphabet) {
			t[c] = byte(v)
		}
		return t
	}()
	//lint:ignore U1000 read by b64_amd64.s
	// vbmiPack picks the 3 bytes of each 32-bit group VPMADDWD leaves
	// (its bits 23-0, most significant first) into 48 bytes.
	vbmiPack = func() (t [64]byte) {
		for j := range 48 {
			t[j] = byte(4*(j/3) + 2 - j%3)
		}
		return t
	}()
)
