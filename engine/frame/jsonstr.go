package frame

import (
	"encoding/binary"
	"unicode/utf8"
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
// same on every host and guest.
func AppendString(dst []byte, s []byte) []byte {
	dst, _ = appendQuoted(dst, s)
	return dst
}

// appendQuoted is AppendString, and reports whether s held invalid UTF-8
// (replaced by U+FFFD), found in the same pass: the host's applier
// refuses such strings without scanning them twice.
func appendQuoted(dst []byte, s []byte) (out []byte, invalid bool) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 plain bytes at a time; after a word with a byte to
		// look at, look at its bytes one by one.
		if i+8 <= len(s) && !hasSpecial(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
			continue
		}
		for end := min(i+8, len(s)); i < end; {
			c := s[i]
			if !needsEscape[c] {
				i++
				continue
			}
			if c >= 0x80 {
				r, size := utf8.DecodeRune(s[i:])
				if r == utf8.RuneError && size == 1 {
					invalid = true
					dst = append(dst, s[start:i]...)
					dst = append(dst, `\ufffd`...)
					i++
					start = i
					continue
				}
				if r == '\u2028' || r == '\u2029' {
					dst = append(dst, s[start:i]...)
					dst = append(dst, `\u202`...)
					dst = append(dst, hexDigits[r&0xf])
					i += size
					start = i
					continue
				}
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), invalid
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

// hasSpecial reports whether any byte of the 8 in w needs a look
// (needsEscape): below 0x20, '"', '\\' or 0x80 and above. It may not
// miss one; the byte loop decides.
func hasSpecial(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(x uint64) uint64 { return (x - ones) & ^x & highs }
	return (w&highs)|
		((w-0x20*ones) & ^w & highs)|
		hasZero(w^('"'*ones))|
		hasZero(w^('\\'*ones)) != 0
}
