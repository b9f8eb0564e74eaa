package frame

import (
	"math/bits"
	"slices"
	"unicode/utf8"
	"unsafe"
)

const hexDigits = "0123456789abcdef"

// needsEscape[c] is true for bytes that cannot appear as themselves inside
// a JSON string (or that start a multi-byte sequence needing a check).
var needsEscape = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// AppendString appends s to dst as a quoted JSON string. Control
// characters are escaped, invalid UTF-8 becomes U+FFFD, and U+2028/U+2029
// are escaped so the output is also valid JavaScript. The result is the
// same on every host and guest. Like append, it may write into dst's
// spare capacity past the returned length (it stores 8 bytes at a time).
func AppendString(dst []byte, s []byte) []byte {
	dst, _ = appendQuoted(dst, s)
	return dst
}

// maskMinLen is the length from which appendQuoted works from a mask of
// specials: one 64-byte block at least (the last block of a string is
// read as the 64 bytes ending it).
const maskMinLen = 64

// maxQuotesLen is the longest string appendQuotedMask makes room for
// escapeQuotes's 16-byte stores for (twice its length): longer ones get
// what room there is.
const maxQuotesLen = 1 << 16

// maskSeg is the number of bytes appendQuotedMask classifies per call
// of maskBlocks: its masks fit a 512-byte array on the stack.
const maskSeg = 64 * 64

// appendQuotedMask is appendQuoted for strings of maskMinLen bytes or
// more. maskBlocks first classifies up to maskSeg bytes of s at a time
// into a bit mask of their specials (one bit per byte: below 0x20, '"',
// '\\', 0x80 and above; AVX2 where the CPU has it, 64 bytes per
// iteration). The loop then goes from special to special: the run of
// clean bytes before one is copied 16 bytes at a time (stores may run
// past the run's end, into room the next writes overwrite), then the
// special is escaped with one 8-byte store from asciiEscapes, or its
// rune decoded. Pretty-printed JSON (event.original) has a special
// every ~10 bytes: the cost is per special, not per byte.
func appendQuotedMask(dst []byte, s []byte) (out []byte, invalid bool) {
	// Invariant before each segment: len(buf)-o >= len(s)-last+maskSlack,
	// room for the rest of s unescaped, the closing quote and the
	// stores that write past their bytes (16 for a run, 8 for an
	// escape). An escape writes at most 6 bytes for 1 of s, so the
	// segment's specials need 5 more each: checked once per segment.
	const maskSlack = 32
	n := len(dst)
	room := len(s) + maskSlack
	if hasQuotesSSSE3 && len(s) <= maxQuotesLen {
		room = 2*len(s) + maskSlack // escapeQuotes's stores
	}
	if cap(dst)-n < room {
		dst = slices.Grow(dst, room)
	}
	buf := dst[:cap(dst)]
	buf[n] = '"'
	o := n + 1
	last := 0 // s[:last] is written
	// Records' text (event.original) has only quotes and backslashes to
	// escape, if it is compact: escapeQuotes does them 16 bytes at a
	// time, up to the first other special, within the room it has.
	if k := min(len(s), (len(buf)-o-16)/2); k >= 16 {
		last, o = escapeQuotes(buf, o, s[:k])
		if len(buf)-o < len(s)-last+maskSlack {
			buf = slices.Grow(buf[:o], len(s)-last+maskSlack)
			buf = buf[:cap(buf)]
		}
	}
	var masks [maskSeg / 64]uint64
	for seg := last &^ 63; seg < len(s); seg += maskSeg {
		end := min(seg+maskSeg, len(s))
		nb := maskOf(&masks, s, seg, end)
		specials := 0
		for _, m := range masks[:nb] {
			specials += bits.OnesCount64(m)
		}
		if specials == 0 {
			continue
		}
		if need := len(s) - last + maskSlack + 5*specials; len(buf)-o < need {
			buf = slices.Grow(buf[:o], need)
			buf = buf[:cap(buf)]
		}
		for b := 0; ; {
			var m uint64
			o, last, b, m = escapeASCII(buf, s, o, last, seg, masks[:nb], b)
			if m == 0 {
				break
			}
			// A byte of 0x80 and above, or a special near the end, at j.
			j := seg + 64*b + bits.TrailingZeros64(m)
			masks[b] = m & (m - 1)
			o += copy(buf[o:], s[last:j])
			if c := s[j]; c < 0x80 {
				e := asciiEscapes[c]
				store64(buf, o, e)
				o += int(e >> 56)
				last = j + 1
				continue
			}
			var size int
			var bad bool
			o, size, bad = putRune(buf, o, s[j:])
			invalid = invalid || bad
			last = j + size
		}
	}
	o += copy(buf[o:], s[last:])
	buf[o] = '"'
	return buf[:o+1], invalid
}

// escapeASCII writes the specials of masks[b:] (bit k of masks[i] for
// byte seg+64*i+k of s) and the clean runs before them, from s[last:] to
// buf[o:], and returns the new o and last, and the block and what is
// left of its mask at the first special it leaves to the caller (a byte
// of 0x80 and above, or one of the last 16 bytes of s, the run before
// which is not written), or a zero mask when it wrote them all. Bits
// below last (the bytes of a rune already copied) are skipped. The
// caller keeps appendQuotedMask's invariant: room for every store. It
// makes no call, so that its loop keeps everything in registers.
func escapeASCII(buf, s []byte, o, last, seg int, masks []uint64, b int) (int, int, int, uint64) {
	sp := unsafe.Pointer(unsafe.SliceData(s))
	bp := unsafe.Pointer(unsafe.SliceData(buf))
	limit := len(s) - 16
	for ; b < len(masks); b++ {
		base := seg + 64*b
		for m := masks[b]; m != 0; m &= m - 1 {
			j := base + bits.TrailingZeros64(m)
			if j < last {
				continue
			}
			c := *(*byte)(unsafe.Add(sp, j))
			if c >= 0x80 || j > limit {
				return o, last, b, m
			}
			// The clean run s[last:j], 16 bytes at a time (usually
			// once: runs are short where specials are dense): the loads
			// stay in s (j+16 <= len(s)), the stores past the run land
			// in room the next writes overwrite.
			*(*[16]byte)(unsafe.Add(bp, o)) = *(*[16]byte)(unsafe.Add(sp, last))
			for p := 16; p < j-last; p += 16 {
				*(*[16]byte)(unsafe.Add(bp, o+p)) = *(*[16]byte)(unsafe.Add(sp, last+p))
			}
			o += j - last
			e := asciiEscapes[c]
			store64(buf, o, e)
			o += int(e >> 56)
			last = j + 1
		}
	}
	return o, last, b, 0
}

// maskOf fills masks with the specials of s[seg:end] (end-seg between
// maskMinLen and maskSeg bytes, or a last segment of any length with
// end >= 64): bit k of masks[b] is set when s[seg+64*b+k] is a special.
// It returns the number of masks filled.
func maskOf(masks *[maskSeg / 64]uint64, s []byte, seg, end int) int {
	full := (end - seg) / 64
	if full > 0 {
		maskBlocks(unsafe.Pointer(&s[seg]), full, &masks[0])
	}
	rem := (end - seg) % 64
	if rem == 0 {
		return full
	}
	// The last, partial block: the mask of the 64 bytes ending s[:end],
	// shifted down to its bytes.
	var m [1]uint64
	maskBlocks(unsafe.Pointer(&s[end-64]), 1, &m[0])
	masks[full] = m[0] >> (64 - rem)
	return full + 1
}

// maskBlocksGo is maskBlocks in Go, 8 bytes at a time: it runs where
// there is no assembly version (or the CPU lacks AVX2), and the tests
// check the assembly against it.
func maskBlocksGo(p unsafe.Pointer, n int, out *uint64) {
	s := unsafe.Slice((*byte)(p), 64*n)
	o := unsafe.Slice(out, n)
	for b := range o {
		var m uint64
		for k := 0; k < 8; k++ {
			m |= movemask(specials(load64(s, 64*b+8*k))) << (8 * k)
		}
		o[b] = m
	}
}

// movemask gathers the high bits of w's bytes into the low byte (bit k
// from byte k), as x86's PMOVMSKB does: the multiplication moves the
// bit of byte k to bit 56+k, and no two partial products share a bit.
func movemask(w uint64) uint64 {
	return ((w >> 7 & 0x0101010101010101) * 0x0102040810204080) >> 56
}

// appendQuoted is AppendString, and reports whether s held invalid UTF-8
// (replaced by U+FFFD), found in the same pass: the host's applier
// refuses such strings without scanning them twice. Strings of
// maskMinLen bytes and more go to appendQuotedMask; shorter ones (keys,
// most values) are escaped here.
//
// It runs 8 bytes at a time: each word of s is stored to the output as
// is, and a mask of the bytes in it that need a look (specials) says
// which of them stand. A clean word costs one load, a dozen arithmetic
// operations and one store; an ASCII byte to escape costs a table lookup
// and two stores (its escape, then the rest of the word after it), with
// no per-byte branches in between. Bytes of 0x80 and above leave the
// word loop for a UTF-8 decode of the rune. The word stores write up to 8
// bytes past the output's current end, so the output keeps room for
// them: appendQuoted may write into dst's spare capacity past the
// returned length, as append may.
func appendQuoted(dst []byte, s []byte) (out []byte, invalid bool) {
	if len(s) >= maskMinLen {
		return appendQuotedMask(dst, s)
	}
	// Invariant at each word: len(buf)-o >= len(s)-i+9, room for the
	// rest of s unescaped, the closing quote and one word store.
	n := len(dst)
	if cap(dst)-n < len(s)+10 {
		dst = slices.Grow(dst, len(s)+10)
	}
	buf := dst[:cap(dst)]
	buf[n] = '"'
	o := n + 1
	i := 0
	for i < len(s) {
		var w uint64
		rest := len(s) - i
		switch {
		case rest >= 8:
			rest = 8
			w = load64(s, i)
		case len(s) >= 8:
			// The string's last word, shifted.
			w = load64(s, len(s)-8) >> (64 - 8*rest)
		default:
			for j := len(s) - 1; j >= i; j-- {
				w = w<<8 | uint64(s[j])
			}
		}
		store64(buf, o, w)
		m := specials(w)
		if rest < 8 {
			m &= 1<<(8*rest) - 1
		}
		if m == 0 {
			i += rest
			o += rest
			// A clean word: likely a clean run, 16 bytes at a time
			// (the invariant leaves room for them).
			for i+16 <= len(s) && o+16 <= len(buf) {
				a, b := load64(s, i), load64(s, i+8)
				if anySpecial(a)|anySpecial(b) != 0 {
					break
				}
				store64(buf, o, a)
				store64(buf, o+8, b)
				i += 16
				o += 16
			}
			continue
		}
		// An escape writes up to 6 bytes for 1 of s: room for 8 of them
		// (the word's specials) and the invariant after them. Growing
		// keeps buf[:o+8], the word stored at o.
		if len(buf)-o < len(s)-i+9+40 {
			buf = slices.Grow(buf[:o+8], len(s)-i+9+40-8)
			buf = buf[:cap(buf)]
		}
		// Byte j of w, when not yet escaped, is at base+j of buf: each
		// escape moves the bytes after it by its length less one.
		base := o
		for m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			c := byte(w >> (8 * k))
			if c >= 0x80 {
				break
			}
			e := asciiEscapes[c]
			store64(buf, base+k, e)
			base += int(e>>56) - 1
			// The rest of the word after the escape (zeros past its
			// end, within the room made above).
			store64(buf, base+k+1, w>>(8*k)>>8)
			m &= m - 1
		}
		if m == 0 {
			i += rest
			o = base + rest
			continue
		}
		done := bits.TrailingZeros64(m) >> 3
		o = base + done
		// A byte of 0x80 and above at i+done: decode its rune.
		i += done
		var size int
		var bad bool
		o, size, bad = putRune(buf, o, s[i:])
		invalid = invalid || bad
		i += size
	}
	buf[o] = '"'
	return buf[:o+1], invalid
}

// load64 reads the little-endian word at b[i:i+8] without a bounds
// check: the caller guarantees i >= 0 and i+8 <= len(b) (appendQuoted's
// invariants; its tests run every byte at every position against a
// byte-by-byte oracle). The byte reads from an [8]byte compile to one
// load on little-endian machines and stay correct on the others.
// putRune writes at buf[o:] the escaped form of the rune that starts s
// (its first byte is 0x80 or above): invalid UTF-8 as \ufffd (bad is
// true), U+2028 and U+2029 escaped (JavaScript line terminators), any
// other rune as it is. It returns the new o and the rune's size in s.
func putRune(buf []byte, o int, s []byte) (next, size int, bad bool) {
	r, size := utf8.DecodeRune(s)
	switch {
	case r == utf8.RuneError && size == 1:
		return o + copy(buf[o:], `\ufffd`), size, true
	case r == '\u2028' || r == '\u2029':
		o += copy(buf[o:], `\u202`)
		buf[o] = hexDigits[r&0xf]
		return o + 1, size, false
	}
	return o + copy(buf[o:], s[:size]), size, false
}

func load64(b []byte, i int) uint64 {
	p := (*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
	return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
		uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
}

// store64 writes v little-endian at b[i:i+8], like load64: the caller
// guarantees the room.
func store64(b []byte, i int, v uint64) {
	p := (*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
	p[0] = byte(v)
	p[1] = byte(v >> 8)
	p[2] = byte(v >> 16)
	p[3] = byte(v >> 24)
	p[4] = byte(v >> 32)
	p[5] = byte(v >> 40)
	p[6] = byte(v >> 48)
	p[7] = byte(v >> 56)
}

// asciiEscapes holds, for each ASCII byte that needs escaping, its escape
// sequence in the low bytes (little endian) and the sequence's length in
// the top byte: one 8-byte store writes it.
var asciiEscapes = func() (t [0x80]uint64) {
	word := func(seq string) uint64 {
		var w uint64
		for i := len(seq) - 1; i >= 0; i-- {
			w = w<<8 | uint64(seq[i])
		}
		return w | uint64(len(seq))<<56
	}
	for c := range 0x20 {
		t[c] = word(`\u00` + string(hexDigits[c>>4]) + string(hexDigits[c&0xf]))
	}
	t['\n'] = word(`\n`)
	t['\r'] = word(`\r`)
	t['\t'] = word(`\t`)
	t['"'] = word(`\"`)
	t['\\'] = word(`\\`)
	return t
}()

// specials returns a mask with the high bit set of each byte of w that
// needs a look: below 0x20, '"', '\\', or 0x80 and above. It is exact (no
// borrow or carry runs from one byte into the next: each test works on
// the byte's low 7 bits, where adding at most 0x7f cannot carry out).
func specials(w uint64) uint64 {
	const ones, low7, highs = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	l := w & low7
	ctl := ^(l + 0x60*ones)             // high bit set iff l < 0x20
	quote := ^((l ^ '"'*ones) + low7)   // iff l == '"'
	bslash := ^((l ^ '\\'*ones) + low7) // iff l == '\\'
	return (w | ctl | quote | bslash) & highs
}

// anySpecial is nonzero when a byte of w needs a look (see specials),
// with fewer operations: bits above the first such byte may be wrong
// (a subtraction's borrow runs into the next byte), so it only says
// whether there is one.
func anySpecial(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return (w | (w - 0x20*ones) | ((w ^ '"'*ones) - ones) | ((w ^ '\\'*ones) - ones)) & highs
}

// Plain reports whether AppendString writes every byte of s as itself
// (printable ASCII but '"' and '\\'): s then needs no escaping, and is
// valid UTF-8. Keys and short values are checked 8 bytes at a time.
func Plain(s []byte) bool {
	var w uint64
	switch {
	case len(s) >= 8:
		i := 0
		for ; i+8 < len(s); i += 8 {
			if anySpecial(load64(s, i)) != 0 {
				return false
			}
		}
		w = load64(s, len(s)-8) // the last word, overlapping
	case len(s) >= 4:
		w = uint64(load32(s, 0)) | uint64(load32(s, len(s)-4))<<32
	default:
		w = 0x2020202020202020 // spaces: plain
		for i := range s {
			w = w<<8 | uint64(s[i])
		}
	}
	return anySpecial(w) == 0
}

// load32 reads the little-endian 32-bit word at b[i:i+4], like load64.
func load32(b []byte, i int) uint32 {
	p := (*[4]byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

// QuotedLen is len(AppendString(nil, s)), computed without writing:
// callers bound what they are about to write (an escaped string can be up
// to six times longer than s).
func QuotedLen(s []byte) int {
	n := 2 + len(s)
	for i := 0; i < len(s); {
		c := s[i]
		if !needsEscape[c] {
			i++
			continue
		}
		if c >= 0x80 {
			r, size := utf8.DecodeRune(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				n += 5 // one byte becomes \ufffd
			case r == '\u2028' || r == '\u2029':
				n += 6 - size
			}
			i += size
			continue
		}
		switch c {
		case '"', '\\', '\n', '\r', '\t':
			n++
		default:
			n += 5
		}
		i++
	}
	return n
}
