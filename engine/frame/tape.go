package frame

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unsafe"
)

// MaxDepth is how deeply values may nest in a document Doc parses: a
// value inside MaxDepth-1 arrays or objects parses, one more level does
// not. It is fastjson's limit, so that the records the host accepted with
// fastjson are the records it accepts with Doc.
const MaxDepth = 300

// Doc is a JSON document parsed into a flat tape: one entry per value and
// per object key, in document order, each holding the value's kind and
// its span in the document's bytes (which Doc keeps, without copying).
// An object or array entry also holds the index of the entry after its
// last child, so that lookups step over whole values. The tape holds no
// pointers (the garbage collector never scans it) and is reused by the
// next Parse: parsing a record allocates nothing once the tape has grown
// to the record's size.
//
// Parse finds strings' ends from the bit masks of their special bytes
// (quote, backslash, control bytes, bytes of 0x80 and above) that the
// escaper computes (AVX2 on amd64, 64 bytes per step): one bit scan per
// special instead of a test per byte. A string with no special byte
// between its quotes is marked plain: its bytes are written to documents
// as they are, with no unescaping or escaping.
//
// Doc accepts exactly the documents fastjson's Parser accepts (the tests
// and FuzzDocParse check it), so bad records fail as they did: strings
// may hold control bytes and unknown escapes (unescaped as fastjson does,
// keeping what is not a valid escape as it is), numbers are any run of
// digits, signs, dots and exponents, plus Inf and NaN (Applier refuses to
// write the ones that are not JSON numbers), and values nest at most
// MaxDepth deep. Documents must be shorter than 4 GiB.
//
// A key an object holds twice is found at its first occurrence, spelled
// escaped or not (fastjson's Get may return a later plain spelling before
// an earlier escaped one).
//
// Values are addressed by their tape index: 0 is the root, Get returns
// the index of a path's value (-1 when it is missing).
type Doc struct {
	b       []byte
	tape    []entry
	masks   []uint64
	scratch []byte
	// keys holds each object's key list (see entry.keys): a keyRef
	// whose start is the list's length and n the number of escaped keys
	// in it, then one per key; pending holds the keys of the objects
	// being parsed.
	keys    []keyRef
	pending []keyRef
	stack   [MaxDepth]uint32
}

// keyRef is an object key in a key list: its bytes are b[start:start+n]
// (n is escapedKey when it holds a backslash), j its tape index.
type keyRef struct {
	start, n, j uint32
}

// escapedKey is keyRef.n for a key that is unescaped to compare.
const escapedKey = math.MaxUint32

// entry is a value or an object key on the tape.
type entry struct {
	// start and end delimit the value's bytes: a string's between its
	// quotes, a number's or literal's text, an object or array from its
	// opening bracket to just after its closing one.
	start, end uint32
	// next is the index of the entry after the value and its children.
	next uint32
	// keys is, for an object, where its key list starts in Doc.keys:
	// lookups go down the list (independent loads) rather than from key
	// to key on the tape (each load waiting for the one before).
	keys uint32
	kind ValueType
	// flags: strEscaped, strPlain.
	flags uint8
}

const (
	// strEscaped: the string holds a backslash, and is unescaped to read.
	strEscaped = 1 << iota
	// strPlain: the string holds no special byte (see specials); it is
	// written to documents as its bytes are.
	strPlain
)

// Reset drops the document, so that the Doc no longer refers to its
// bytes; the tape is kept for the next Parse.
func (d *Doc) Reset() {
	d.b = nil
	d.tape = d.tape[:0]
	d.scratch = d.scratch[:0]
}

// docError is a parse error at a byte offset.
func docError(off int, format string, args ...any) error {
	return fmt.Errorf("byte offset %d: %s", off, fmt.Sprintf(format, args...))
}

// Parse parses b, which the Doc keeps (b must not change while the Doc
// is used). On error the Doc holds no document.
func (d *Doc) Parse(b []byte) error {
	d.b = b
	d.tape = d.tape[:0]
	d.scratch = d.scratch[:0]
	d.keys = append(d.keys[:0], keyRef{}) // the empty list, for empty objects
	d.pending = d.pending[:0]
	if uint64(len(b)) >= math.MaxUint32 {
		d.b = nil
		return docError(0, "the document is %d bytes, more than Doc parses", len(b))
	}
	d.computeMasks()
	if err := d.parse(); err != nil {
		d.b = nil
		d.tape = d.tape[:0]
		return err
	}
	return nil
}

// computeMasks sets d.masks[k] to the specials of b[64k:64k+64]; the
// bytes past the end count as spaces (not special).
func (d *Doc) computeMasks() {
	b := d.b
	nb := (len(b) + 63) / 64
	if cap(d.masks) < nb {
		d.masks = make([]uint64, nb, nb+nb/4)
	}
	d.masks = d.masks[:nb]
	full := len(b) / 64
	if full > 0 {
		maskBlocks(unsafe.Pointer(unsafe.SliceData(b)), full, &d.masks[0])
	}
	if rem := len(b) % 64; rem != 0 {
		if full > 0 {
			// The 64 bytes ending b, shifted down to the last block's.
			var m [1]uint64
			maskBlocks(unsafe.Pointer(&b[len(b)-64]), 1, &m[0])
			d.masks[full] = m[0] >> (64 - rem)
			return
		}
		tail := blank64
		copy(tail[:], b[64*full:])
		maskBlocks(unsafe.Pointer(&tail[0]), 1, &d.masks[full])
	}
}

// blank64 pads a short document's mask block: spaces are not special.
var blank64 = [64]byte{
	' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
	' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
	' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
	' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
}

// nextSpecial returns the offset of the first special byte at or after
// i, or len(d.b).
func (d *Doc) nextSpecial(i int) int {
	if i >= len(d.b) {
		return len(d.b)
	}
	k := i >> 6
	m := d.masks[k] & (^uint64(0) << (i & 63))
	for m == 0 {
		k++
		if k >= len(d.masks) {
			return len(d.b)
		}
		m = d.masks[k]
	}
	return k<<6 + bits.TrailingZeros64(m)
}

// str scans the string whose opening quote is at i-1 and returns the
// offset of its closing quote and its flags. A backslash escapes the
// byte after it, whatever it is (as fastjson reads strings).
func (d *Doc) str(i int) (int, uint8, error) {
	flags := uint8(strPlain)
	for {
		p := d.nextSpecial(i)
		if p >= len(d.b) {
			return 0, 0, docError(len(d.b), "a string misses its closing '\"'")
		}
		switch d.b[p] {
		case '"':
			return p, flags, nil
		case '\\':
			flags = strEscaped
			i = p + 2
		default:
			flags &^= strPlain
			i = p + 1
		}
	}
}

func skipWS(b []byte, i int) int {
	// One comparison for the usual byte (compact JSON has no spaces).
	for i < len(b) && b[i] <= ' ' {
		switch b[i] {
		case ' ', '\n', '\t', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func isNumByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '.' || c == '-' || c == 'e' || c == 'E' || c == '+'
}

// infNaN reports whether b[i:] starts with inf or nan, in any case.
func infNaN(b []byte, i int) bool {
	if len(b)-i < 3 {
		return false
	}
	c0, c1, c2 := b[i]|0x20, b[i+1]|0x20, b[i+2]|0x20
	return c0 == 'i' && c1 == 'n' && c2 == 'f' || c0 == 'n' && c1 == 'a' && c2 == 'n'
}

// number returns the end of the number at i, as fastjson reads numbers.
func number(b []byte, i int) (int, bool) {
	j := i
	for j < len(b) && isNumByte(b[j]) {
		j++
	}
	if j == len(b) || j > i+1 || j == i+1 && b[i] != '-' && b[i] != '+' {
		return j, true
	}
	if infNaN(b, j) {
		return j + 3, true
	}
	return j, false
}

// growTape makes room for more entries. parse appends entries by hand,
// storing their fields in place: an appended composite literal (more
// fields than the compiler keeps in registers) is built on the stack and
// copied from there, the copy waiting for the stores, a stall per entry.
//
//go:noinline
func growTape(tape []entry) []entry {
	return slices.Grow(tape, max(64, len(tape)))
}

// parse builds the tape of d.b, iteratively: d.stack holds the open
// objects and arrays.
func (d *Doc) parse() error {
	b := d.b
	// The tape in a local: kept in registers, stored back at the end.
	tape := d.tape
	depth := 0
	i := skipWS(b, 0)
	if i == len(b) {
		return docError(i, "no JSON value")
	}
value:
	if i >= len(b) {
		return docError(i, "unexpected end of the document")
	}
	if depth >= MaxDepth {
		return docError(i, "values nest more than %d deep", MaxDepth)
	}
	switch c := b[i]; c {
	case '{', '[':
		kind := Object
		closing := byte('}')
		if c == '[' {
			kind, closing = Array, ']'
		}
		n := len(tape)
		if n == cap(tape) {
			tape = growTape(tape)
		}
		tape = tape[:n+1]
		e := &tape[n]
		e.start, e.end, e.next, e.keys, e.kind, e.flags = uint32(i), 0, 0, 0, kind, 0
		t := len(tape) - 1
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closing {
			i++
			tape[t].end = uint32(i)
			tape[t].next = uint32(len(tape))
			goto after
		}
		d.stack[depth] = uint32(t)
		depth++
		if kind == Object {
			// Until the object closes: where its keys start in pending.
			tape[t].keys = uint32(len(d.pending))
			goto key
		}
		goto value
	case '"':
		// Most strings are plain: their first special is the closing
		// quote. Others go to str.
		end, flags := d.nextSpecial(i+1), uint8(strPlain)
		if end >= len(b) || b[end] != '"' {
			var err error
			if end, flags, err = d.str(i + 1); err != nil {
				return err
			}
		}
		n := len(tape)
		if n == cap(tape) {
			tape = growTape(tape)
		}
		tape = tape[:n+1]
		e := &tape[n]
		e.start, e.end, e.next, e.keys, e.kind, e.flags = uint32(i+1), uint32(end), uint32(n+1), 0, String, flags
		i = end + 1
		goto after
	case 't', 'f', 'n':
		lit, kind := "true", True
		switch c {
		case 'f':
			lit, kind = "false", False
		case 'n':
			lit, kind = "null", Null
		}
		end := i + len(lit)
		if end > len(b) || string(b[i:end]) != lit {
			if c != 'n' || !infNaN(b, i) {
				return docError(i, "unexpected %q", b[i:min(i+len(lit), len(b))])
			}
			end, kind = i+3, Number
		}
		n := len(tape)
		if n == cap(tape) {
			tape = growTape(tape)
		}
		tape = tape[:n+1]
		e := &tape[n]
		e.start, e.end, e.next, e.keys, e.kind, e.flags = uint32(i), uint32(end), uint32(n+1), 0, kind, 0
		i = end
		goto after
	default:
		end, ok := number(b, i)
		if !ok {
			return docError(i, "unexpected %q", b[i:min(end+1, len(b))])
		}
		n := len(tape)
		if n == cap(tape) {
			tape = growTape(tape)
		}
		tape = tape[:n+1]
		e := &tape[n]
		e.start, e.end, e.next, e.keys, e.kind, e.flags = uint32(i), uint32(end), uint32(n+1), 0, Number, 0
		i = end
		goto after
	}
key:
	if i >= len(b) {
		return docError(i, "unexpected end of the document")
	}
	if b[i] != '"' {
		return docError(i, "an object key does not start with '\"'")
	}
	{
		// Most strings are plain: their first special is the closing
		// quote. Others go to str.
		end, flags := d.nextSpecial(i+1), uint8(strPlain)
		if end >= len(b) || b[end] != '"' {
			var err error
			if end, flags, err = d.str(i + 1); err != nil {
				return err
			}
		}
		kn := uint32(end - i - 1)
		if flags&strEscaped != 0 {
			kn = escapedKey
		}
		d.pending = append(d.pending, keyRef{start: uint32(i + 1), n: kn, j: uint32(len(tape))})
		n := len(tape)
		if n == cap(tape) {
			tape = growTape(tape)
		}
		tape = tape[:n+1]
		e := &tape[n]
		e.start, e.end, e.next, e.keys, e.kind, e.flags = uint32(i+1), uint32(end), uint32(n+1), 0, String, flags
		i = skipWS(b, end+1)
		if i >= len(b) || b[i] != ':' {
			return docError(i, "an object key is not followed by ':'")
		}
		i = skipWS(b, i+1)
		goto value
	}
after:
	i = skipWS(b, i)
	if depth == 0 {
		if i != len(b) {
			return docError(i, "unexpected bytes after the JSON value")
		}
		d.tape = tape
		return nil
	}
	if i >= len(b) {
		return docError(i, "unexpected end of the document")
	}
	{
		t := d.stack[depth-1]
		kind := tape[t].kind
		switch c := b[i]; {
		case c == ',':
			i = skipWS(b, i+1)
			if kind == Object {
				goto key
			}
			goto value
		case c == '}' && kind == Object, c == ']' && kind == Array:
			i++
			e := &tape[t]
			e.end = uint32(i)
			e.next = uint32(len(tape))
			if kind == Object {
				base := e.keys
				e.keys = uint32(len(d.keys))
				h := keyRef{start: uint32(len(d.pending)) - base}
				for _, r := range d.pending[base:] {
					if r.n == escapedKey {
						h.n++
					}
				}
				d.keys = append(d.keys, h)
				d.keys = append(d.keys, d.pending[base:]...)
				d.pending = d.pending[:base]
			}
			depth--
			goto after
		}
		if kind == Object {
			return docError(i, "missing ',' or '}' after an object value")
		}
		return docError(i, "missing ',' or ']' after an array value")
	}
}
