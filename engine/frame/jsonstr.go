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

// appendQuoted is AppendString, and reports whether s held invalid UTF-8
// (replaced by U+FFFD), found in the same pass: the host's applier
// refuses such strings without scanning them twice.
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
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			invalid = true
			o += copy(buf[o:], `\ufffd`)
		case r == '\u2028' || r == '\u2029':
			o += copy(buf[o:], `\u202`)
			buf[o] = hexDigits[r&0xf]
			o++
		default:
			o += copy(buf[o:], s[i:i+size])
		}
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
