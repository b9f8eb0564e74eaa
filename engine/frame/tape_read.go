package frame

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Type returns the type of the value at tape index i (Missing for i < 0).
func (d *Doc) Type(i int) ValueType {
	if i < 0 {
		return Missing
	}
	return d.tape[i].kind
}

// Raw returns the bytes of the value at i: a string's between its quotes
// (escaped), a number's text, an object's or array's JSON text.
func (d *Doc) Raw(i int) []byte {
	e := &d.tape[i]
	return d.b[e.start:e.end:e.end]
}

// quoted returns the string at i with its quotes, as it is in the
// document.
func (d *Doc) quoted(i int) []byte {
	e := &d.tape[i]
	return d.b[e.start-1 : e.end+1 : e.end+1]
}

// plain reports whether the string at i holds no special byte.
func (d *Doc) plain(i int) bool { return d.tape[i].flags&strPlain != 0 }

// StringBytes returns the string at i unescaped (as fastjson unescapes:
// escapes that are not valid stay as they are). The bytes stay valid
// until the next Parse or Reset.
func (d *Doc) StringBytes(i int) []byte {
	e := &d.tape[i]
	raw := d.b[e.start:e.end:e.end]
	if e.flags&strEscaped == 0 {
		return raw
	}
	start := len(d.scratch)
	d.scratch = unescape(d.scratch, raw)
	return d.scratch[start:len(d.scratch):len(d.scratch)]
}

// Get returns the tape index of the value at the path keys (each an
// object key, or a decimal index into an array), or -1.
func (d *Doc) Get(keys ...string) int {
	if len(d.tape) == 0 {
		return -1
	}
	v := 0
	for _, k := range keys {
		e := &d.tape[v]
		switch e.kind {
		case Object:
			if v = d.member(v, k); v < 0 {
				return -1
			}
		case Array:
			n, err := strconv.Atoi(k)
			if err != nil || n < 0 {
				return -1
			}
			j := v + 1
			for ; n > 0 && j < int(e.next); n-- {
				j = int(d.tape[j].next)
			}
			if j >= int(e.next) {
				return -1
			}
			v = j
		default:
			return -1
		}
	}
	return v
}

// member returns the index of the value of the first key k of the object
// at o, or -1.
func (d *Doc) member(o int, k string) int {
	off := int(d.tape[o].keys)
	h := d.keys[off]
	refs := d.keys[off+1 : off+1+int(h.start)]
	b := d.b
	if h.n == 0 {
		for _, r := range refs {
			if int(r.n) == len(k) && string(b[r.start:r.start+r.n]) == k {
				return int(r.j) + 1
			}
		}
		return -1
	}
	for _, r := range refs {
		if int(r.n) == len(k) && string(b[r.start:r.start+r.n]) == k ||
			r.n == escapedKey && d.keyIs(int(r.j), k) {
			return int(r.j) + 1
		}
	}
	return -1
}

// keyIs reports whether the key at j, unescaped, is k.
func (d *Doc) keyIs(j int, k string) bool {
	e := &d.tape[j]
	if e.flags&strEscaped == 0 {
		return string(d.b[e.start:e.end]) == k
	}
	// Unescaped in scratch, then dropped.
	start := len(d.scratch)
	d.scratch = unescape(d.scratch, d.b[e.start:e.end])
	match := string(d.scratch[start:]) == k
	d.scratch = d.scratch[:start]
	return match
}

// key returns the object key at i unescaped, as a string that stays
// valid until the next Parse or Reset.
func (d *Doc) key(i int) string {
	s := d.StringBytes(i)
	return unsafe.String(unsafe.SliceData(s), len(s))
}

// AppendValue appends the value at i as compact JSON, exactly as the
// package's AppendValue writes the same value parsed by fastjson:
// strings unescaped and escaped again with AppendString (plain ones
// copied), numbers as their text.
func (d *Doc) AppendValue(dst []byte, i int) []byte {
	w := writer{limit: math.MaxInt}
	return w.tapeValue(dst, d, i)
}

// typeName names the type of the value at i as fastjson does.
func (d *Doc) typeName(i int) string {
	return d.tape[i].kind.String()
}

// unescape appends s unescaped to dst, exactly as fastjson does (its
// unescapeStringBestEffort): escapes that are not valid are kept as
// they are; a \u escape of a high surrogate followed by \u and four hex
// digits decodes the pair (U+FFFD when it is not a valid pair).
func unescape(dst, s []byte) []byte {
	for len(s) > 0 {
		n := 0
		for n < len(s) && s[n] != '\\' {
			n++
		}
		dst = append(dst, s[:n]...)
		if n == len(s) {
			return dst
		}
		s = s[n+1:]
		if len(s) == 0 {
			// fastjson stops here: a trailing backslash is dropped
			// (it cannot end a string fastjson parsed).
			return dst
		}
		ch := s[0]
		s = s[1:]
		switch ch {
		case '"', '\\', '/':
			dst = append(dst, ch)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			x, ok := hex4(s)
			if !ok {
				dst = append(dst, `\u`...)
				break
			}
			xs := s[:4]
			s = s[4:]
			if !utf16.IsSurrogate(rune(x)) {
				dst = utf8.AppendRune(dst, rune(x))
				break
			}
			if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
				dst = append(append(dst, `\u`...), xs...)
				break
			}
			x1, ok := hex4(s[2:])
			if !ok {
				dst = append(append(dst, `\u`...), xs...)
				break
			}
			dst = utf8.AppendRune(dst, utf16.DecodeRune(rune(x), rune(x1)))
			s = s[6:]
		default:
			dst = append(dst, '\\', ch)
		}
	}
	return dst
}

// hex4 parses the 4 hex digits that start s, as strconv.ParseUint(s[:4],
// 16, 16) does (which also takes underscores only with base 0).
func hex4(s []byte) (uint16, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var x uint16
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		x = x<<4 | uint16(c)
	}
	return x, true
}

// tapeValue serializes the value at i of d (see writer.value).
func (w *writer) tapeValue(dst []byte, d *Doc, i int) []byte {
	if !w.tick() {
		return dst
	}
	e := &d.tape[i]
	switch e.kind {
	case Object, Array:
		open, closing := byte('{'), byte('}')
		if e.kind == Array {
			open, closing = '[', ']'
		}
		dst = w.byte(dst, open)
		for j := i + 1; j < int(e.next); {
			if w.err != nil {
				return dst
			}
			if j > i+1 {
				dst = w.byte(dst, ',')
			}
			if e.kind == Object {
				dst = w.tapeStr(dst, d, j)
				dst = w.byte(dst, ':')
				j++
				if w.err != nil {
					return dst
				}
			}
			dst = w.tapeValue(dst, d, j)
			j = int(d.tape[j].next)
		}
		return w.byte(dst, closing)
	case String:
		return w.tapeStr(dst, d, i)
	case Number:
		raw := d.b[e.start:e.end]
		if !w.room(dst, len(raw)) {
			return dst
		}
		if w.bad == nil && !validNumber(raw) {
			w.bad = append([]byte{}, raw...)
		}
		return append(dst, raw...)
	default:
		// true, false, null: their text.
		raw := d.b[e.start:e.end]
		if !w.room(dst, len(raw)) {
			return dst
		}
		return append(dst, raw...)
	}
}

// tapeStr writes the string (or key) at i of d: plain strings as they
// are in the document, others unescaped and escaped again.
func (w *writer) tapeStr(dst []byte, d *Doc, i int) []byte {
	e := &d.tape[i]
	if e.flags&strPlain != 0 {
		q := d.b[e.start-1 : e.end+1]
		if !w.room(dst, len(q)) {
			return dst
		}
		return append(dst, q...)
	}
	if e.flags&strEscaped == 0 {
		return w.str(dst, d.b[e.start:e.end])
	}
	start := len(d.scratch)
	d.scratch = unescape(d.scratch, d.b[e.start:e.end])
	dst = w.str(dst, d.scratch[start:])
	d.scratch = d.scratch[:start]
	return dst
}
