package frame

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"
)

// writer serializes a document under a size limit (an absolute length of
// dst) and calls check now and then. After the first error it writes
// nothing more.
type writer struct {
	limit int
	max   int // the document's budget, for the message
	check func() error
	n     int // values written, for check
	err   error
	bad   []byte // the first number that is not valid JSON
	badS  []byte // the first string that is not valid UTF-8
}

// room reports whether n more bytes fit after dst, recording the error
// when they do not.
func (w *writer) room(dst []byte, n int) bool {
	// Small enough to inline: it runs for every key and value.
	if w.err == nil && n <= w.limit-len(dst) {
		return true
	}
	return w.noRoom()
}

// noRoom is room's slow path: false, recording ErrTooLarge unless an
// error is recorded already.
//
//go:noinline
func (w *writer) noRoom() bool {
	if w.err == nil {
		w.err = fmt.Errorf("%w: it would exceed %d bytes", ErrTooLarge, w.max)
	}
	return false
}

// tick calls check every checkEvery values.
func (w *writer) tick() bool {
	if w.err != nil {
		return false
	}
	w.n++
	if w.check != nil && w.n%checkEvery == 0 {
		if err := w.check(); err != nil {
			w.err = err
			return false
		}
	}
	return true
}

// str appends s quoted, if it fits. The common case (the worst-case
// escaped size fits) costs one comparison; otherwise the exact size is
// computed before anything is written.
func (w *writer) str(dst, s []byte) []byte {
	if w.limit-len(dst) < 6*len(s)+2 {
		if !w.room(dst, QuotedLen(s)) {
			return dst
		}
	}
	// The escape pass finds invalid UTF-8 too: no second scan of s.
	dst, invalid := appendQuoted(dst, s)
	if invalid && w.badS == nil {
		// A copy: s may be Doc scratch, reused.
		w.badS = append([]byte{}, s...)
	}
	return dst
}

// byte appends c, if it fits.
func (w *writer) byte(dst []byte, c byte) []byte {
	if w.err == nil && len(dst) < w.limit {
		return append(dst, c)
	}
	w.noRoom()
	return dst
}

// node serializes n.
func (w *writer) node(dst []byte, n *node) []byte {
	dst = w.byte(dst, '{')
	for i, k := range n.keys {
		if !w.tick() {
			return dst
		}
		if i > 0 {
			dst = w.byte(dst, ',')
		}
		v := &n.vals[i]
		if v.qkey != nil {
			if w.room(dst, len(v.qkey)) {
				dst = append(dst, v.qkey...)
			}
		} else {
			dst = w.str(dst, unsafe.Slice(unsafe.StringData(k), len(k))) // read only: no copy
			dst = w.byte(dst, ':')
		}
		if w.err != nil {
			return dst
		}
		dst = w.val(dst, v)
	}
	return w.byte(dst, '}')
}

// val serializes v.
func (w *writer) val(dst []byte, v *nval) []byte {
	switch v.kind {
	case valObj:
		return w.node(dst, v.obj)
	case valRaw:
		return w.raw(dst, v.raw)
	case valStr:
		return w.str(dst, v.str)
	case valParsed:
		return w.value(dst, v.fv)
	case valTape:
		return w.tapeValue(dst, v.doc, v.ti)
	}
	return dst
}

// raw appends b as it is, if it fits.
func (w *writer) raw(dst, b []byte) []byte {
	if !w.room(dst, len(b)) {
		return dst
	}
	return append(dst, b...)
}

func (a *Applier) digest(dst []byte, algo byte, data []byte) ([]byte, error) {
	if a.Digest != nil {
		return a.Digest(dst, algo, data)
	}
	return AppendDigest(dst, algo, data)
}

// AppendDigest appends the lower-case hex digest of data.
func AppendDigest(dst []byte, algo byte, data []byte) ([]byte, error) {
	switch algo {
	case DigestSHA256:
		s := sha256.Sum256(data)
		return hex.AppendEncode(dst, s[:]), nil
	case DigestMD5:
		s := md5.Sum(data)
		return hex.AppendEncode(dst, s[:]), nil
	case DigestSHA1:
		s := sha1.Sum(data)
		return hex.AppendEncode(dst, s[:]), nil
	}
	return dst, fmt.Errorf("unknown digest algorithm %d", algo)
}

// AppendValue serializes v compactly, escaping strings with AppendString.
// Numbers are written as their text: fastjson's parser accepts some that
// JSON does not (NaN, 01, 1., -), which Applier.Apply refuses to write
// (validate documents with fastjson.Validate to reject them up front).
func AppendValue(dst []byte, v *fastjson.Value) []byte {
	w := writer{limit: math.MaxInt}
	return w.value(dst, v)
}

// value serializes v; a number that is not valid JSON goes to w.bad.
func (w *writer) value(dst []byte, v *fastjson.Value) []byte {
	if !w.tick() {
		return dst
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		dst = w.byte(dst, '{')
		first := true
		o.Visit(func(k []byte, vv *fastjson.Value) {
			if w.err != nil {
				return
			}
			if !first {
				dst = w.byte(dst, ',')
			}
			first = false
			dst = w.str(dst, k)
			dst = w.byte(dst, ':')
			if w.err == nil {
				dst = w.value(dst, vv)
			}
		})
		return w.byte(dst, '}')
	case fastjson.TypeArray:
		a, _ := v.Array()
		dst = w.byte(dst, '[')
		for i, vv := range a {
			if i > 0 {
				dst = w.byte(dst, ',')
			}
			if w.err != nil {
				return dst
			}
			dst = w.value(dst, vv)
		}
		return w.byte(dst, ']')
	case fastjson.TypeString:
		return w.str(dst, v.GetStringBytes())
	case fastjson.TypeNumber:
		// The text of a number comes from the input: bounded by its size.
		start := len(dst)
		dst = v.MarshalTo(dst)
		if !w.room(dst[:start], len(dst)-start) {
			return dst[:start]
		}
		if w.bad == nil && !validNumber(dst[start:]) {
			w.bad = append([]byte{}, dst[start:]...)
		}
		return dst
	default:
		// true, false, null
		n := 4
		if v.Type() == fastjson.TypeFalse {
			n = 5
		}
		if !w.room(dst, n) {
			return dst
		}
		return v.MarshalTo(dst)
	}
}

// validNumber reports whether b is a JSON number (RFC 8259, section 6).
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// ErrInvalidUTF8 is matched by errors.Is when Applier.Apply refuses a
// document because a string in it is not valid UTF-8. weir never replaces
// bytes in a JSON string it writes (U+FFFD would make event.original
// differ from the record that event.hash was computed over): the record
// fails instead, its error naming the byte offset of the first invalid
// byte, and the dead-letter entry keeps the record's exact bytes (in
// record_base64).
var ErrInvalidUTF8 = errors.New("not valid UTF-8")

// invalidUTF8 describes a string s that is not UTF-8: from the input
// record (located in it) or set by the module.
func invalidUTF8(input, s []byte) error {
	if off := firstInvalid(input); off >= 0 {
		return fmt.Errorf("the input record is %w (first invalid byte 0x%02x at byte offset %d); weir does not replace bytes in the JSON strings it writes", ErrInvalidUTF8, input[off], off)
	}
	off := firstInvalid(s)
	return fmt.Errorf("a string the module set is %w (first invalid byte 0x%02x at byte offset %d of %q)", ErrInvalidUTF8, s[off], off, s)
}

// firstInvalid returns the offset of the first byte of b that is not part
// of valid UTF-8, or -1.
func firstInvalid(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
