package builtin

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/valyala/fastjson"
)

// Value is a read-only view of one JSON value of a message, with gjson's
// conversions (Substation's message.Value). The zero Value is missing.
// A Value is valid until its message changes.
type Value struct {
	v *fastjson.Value
	// raw, when set, is the document's own bytes: v is a whole document
	// ("@this") not changed since it was read, and its text is raw
	// exactly, as gjson gives it (a hash of "@this" is the hash of the
	// record as it came).
	raw []byte
}

// Kinds of values. Strings are told apart from numbers by their JSON
// text, never by fastjson's Type, which would unescape a string in place
// and lose its original bytes.
const (
	kMissing = iota
	kObject
	kArray
	kString
	kNumber
	kTrue
	kFalse
	kNull
)

// kindOf returns v's kind and, for a scalar, its JSON text appended to
// buf (strings keep their original escapes).
func kindOf(v *fastjson.Value, buf []byte) (int, []byte) {
	if v == nil {
		return kMissing, buf
	}
	switch (*fjValue)(unsafe.Pointer(v)).t {
	case fastjson.TypeObject:
		return kObject, buf
	case fastjson.TypeArray:
		return kArray, buf
	}
	start := len(buf)
	buf = v.MarshalTo(buf)
	switch buf[start] {
	case '[':
		return kArray, buf[:start]
	case '"':
		return kString, buf
	case 't':
		return kTrue, buf
	case 'f':
		return kFalse, buf
	case 'n':
		return kNull, buf
	}
	return kNumber, buf
}

func (v Value) kind() int { k, _ := kindText(v.v); return k }

// kindText returns v's kind, as kindOf, without writing its text: for a
// string, the first byte of its content (0 when empty), which is all
// SetValue needs to know. It reads fastjson's type (fjValue): parsed
// strings are fastjson's raw strings, strings weir sets are number
// values holding quoted text (newString), numbers are numbers.
func kindText(v *fastjson.Value) (int, byte) {
	if v == nil {
		return kMissing, 0
	}
	fv := (*fjValue)(unsafe.Pointer(v))
	switch fv.t {
	case fastjson.TypeObject:
		return kObject, 0
	case fastjson.TypeArray:
		return kArray, 0
	case fastjson.TypeTrue:
		return kTrue, 0
	case fastjson.TypeFalse:
		return kFalse, 0
	case fastjson.TypeNull:
		return kNull, 0
	case fastjson.TypeNumber:
		if len(fv.s) > 0 && fv.s[0] == '"' {
			if len(fv.s) > 2 {
				return kString, fv.s[1]
			}
			return kString, 0
		}
		return kNumber, 0
	}
	// Parsed strings (fastjson's raw strings, which fastjson.Type would
	// unescape in place), and strings fastjson unescaped: s is the
	// content.
	if len(fv.s) > 0 {
		return kString, fv.s[0]
	}
	return kString, 0
}

// hasText reports whether AppendText would write anything, without
// writing: false for a missing value, null and the empty string. A
// string's content is never shortened to nothing by unescaping (every
// escape stands for at least one byte), so its raw length decides.
func (v Value) hasText() bool {
	if v.v == nil {
		return false
	}
	fv := (*fjValue)(unsafe.Pointer(v.v))
	switch fv.t {
	case fastjson.TypeObject, fastjson.TypeArray, fastjson.TypeTrue, fastjson.TypeFalse:
		return true
	case fastjson.TypeNull:
		return false
	case fastjson.TypeNumber:
		// Numbers, and strings weir sets (quoted text).
		return len(fv.s) > 0 && (fv.s[0] != '"' || len(fv.s) > 2)
	}
	return len(fv.s) > 0
}

// typeRawString is fastjson's type of a parsed string not yet
// unescaped (unexported in fastjson; TestFastjsonLayout checks it).
const typeRawString = fastjson.Type(7)

// Exists reports whether the value is present.
func (v Value) Exists() bool { return v.v != nil }

// IsString reports whether the value is a JSON string.
func (v Value) IsString() bool { return v.kind() == kString }

// IsNumber reports whether the value is a JSON number.
func (v Value) IsNumber() bool { return v.kind() == kNumber }

// IsBool reports whether the value is true or false.
func (v Value) IsBool() bool { k := v.kind(); return k == kTrue || k == kFalse }

// IsNull reports whether the value is JSON null.
func (v Value) IsNull() bool { return v.kind() == kNull }

// IsArray reports whether the value is a JSON array.
func (v Value) IsArray() bool { _, err := v.arr(); return err == nil }

// IsObject reports whether the value is a JSON object.
func (v Value) IsObject() bool { return object(v.v) != nil }

func (v Value) arr() ([]*fastjson.Value, error) {
	if a, ok := array(v.v); ok {
		return a, nil
	}
	return nil, errNotArray
}

var errNotArray = errors.New("not an array")

// object returns v's object, or nil. Unlike fastjson's Value.Object and
// Value.Type it never unescapes a string in place (which would lose its
// original bytes) nor allocates an error.
func object(v *fastjson.Value) *fastjson.Object {
	if v == nil {
		return nil
	}
	return objectOf(v)
}

// array returns v's elements and whether v is an array (an empty one
// included), without touching strings (see object).
func array(v *fastjson.Value) ([]*fastjson.Value, bool) {
	if v == nil {
		return nil, false
	}
	return arrayOf(v)
}

// String returns the value as gjson's Result.String does: a string's
// text, a number's or boolean's JSON text, an object's or array's JSON,
// and "" for null or a missing value.
func (v Value) String() string { return string(v.AppendText(nil)) }

// AppendText appends String's text to dst without an intermediate string.
func (v Value) AppendText(dst []byte) []byte {
	start := len(dst)
	k, dst := kindOf(v.v, dst)
	switch k {
	case kMissing:
		return dst
	case kObject, kArray:
		if v.raw != nil {
			return append(dst, v.raw...)
		}
		return appendJSON(dst, v.v)
	case kNull:
		return dst[:start]
	case kString:
		raw := dst[start:]
		if bytes.IndexByte(raw, '\\') < 0 {
			copy(dst[start:], raw[1:len(raw)-1])
			return dst[:len(dst)-2]
		}
		s := unquote(raw)
		return append(dst[:start], s...)
	}
	return dst
}

// unquote decodes a JSON string literal (quotes included); invalid
// escapes are kept as they are.
func unquote(raw []byte) string {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return string(raw[1 : len(raw)-1])
	}
	return s
}

// Bytes returns String as bytes.
func (v Value) Bytes() []byte { return v.AppendText(nil) }

// JSON appends the value's JSON encoding to dst (nothing when missing).
func (v Value) JSON(dst []byte) []byte {
	if v.v == nil {
		return dst
	}
	if v.raw != nil {
		return append(dst, v.raw...)
	}
	return appendJSON(dst, v.v)
}

// scalar returns the kind and the text a conversion reads: a string's
// content, a number's text.
func (v Value) scalar() (int, string) {
	var buf [64]byte
	k, b := kindOf(v.v, buf[:0])
	switch k {
	case kString:
		if bytes.IndexByte(b, '\\') < 0 {
			return k, string(b[1 : len(b)-1])
		}
		return k, unquote(b)
	case kNumber:
		return k, string(b)
	}
	return k, ""
}

// Float returns the value as a float64, as gjson does: numbers, numeric
// strings, true = 1; 0 otherwise.
func (v Value) Float() float64 {
	k, s := v.scalar()
	switch k {
	case kTrue:
		return 1
	case kNumber, kString:
		f, _ := strconv.ParseFloat(s, 64)
		return f
	}
	return 0
}

// Int returns the value as an int64, as gjson does: an integer's exact
// value, a float truncated, a numeric string parsed, true = 1.
func (v Value) Int() int64 {
	var buf [64]byte
	if k, b := kindOf(v.v, buf[:0]); k == kNumber || k == kString {
		if k == kString {
			b = b[1 : len(b)-1]
		}
		if n, ok := parseSmallInt(b); ok {
			return n
		}
	}
	k, s := v.scalar()
	switch k {
	case kTrue:
		return 1
	case kNumber, kString:
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
		f, _ := strconv.ParseFloat(s, 64)
		return floatToInt(f)
	}
	return 0
}

// parseSmallInt parses an optionally signed decimal integer that fits an
// int64 without allocating; ok is false for anything else (fractions,
// exponents, overflow), which Int then hands to strconv.
func parseSmallInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg || (len(b) > 0 && b[0] == '+') {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0') // 19 digits cannot overflow a uint64
	}
	switch {
	case !neg && n <= math.MaxInt64:
		return int64(n), true
	case neg && n <= math.MaxInt64+1:
		return int64(-n), true
	}
	return 0, false
}

func floatToInt(f float64) int64 {
	if f >= math.MaxInt64 {
		return math.MaxInt64
	}
	if f <= math.MinInt64 {
		return math.MinInt64
	}
	return int64(f)
}

// Uint returns the value as a uint64, as gjson does (negative → 0).
func (v Value) Uint() uint64 {
	k, s := v.scalar()
	switch k {
	case kTrue:
		return 1
	case kNumber, kString:
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n
		}
		f, _ := strconv.ParseFloat(s, 64)
		if f <= 0 {
			return 0
		}
		if f >= math.MaxUint64 {
			return math.MaxUint64
		}
		return uint64(f)
	}
	return 0
}

// Bool returns the value as a bool, as gjson does: true, a string that
// strconv.ParseBool reads as true, a non-zero number.
func (v Value) Bool() bool {
	k, s := v.scalar()
	switch k {
	case kTrue:
		return true
	case kNumber:
		f, _ := strconv.ParseFloat(s, 64)
		return f != 0
	case kString:
		b, _ := strconv.ParseBool(strings.ToLower(s))
		return b
	}
	return false
}

// Len returns the number of elements of an array (0 for anything else).
func (v Value) Len() int {
	a, _ := v.arr()
	return len(a)
}

// Index returns the i-th element of an array (missing when out of range
// or not an array).
func (v Value) Index(i int) Value {
	a, _ := v.arr()
	if i < 0 || i >= len(a) {
		return Value{}
	}
	return Value{v: a[i]}
}

// Array returns the elements of an array; a value that is not an array
// is returned as the only element (gjson's Result.Array), a missing one
// as none.
func (v Value) Array() []Value {
	if v.v == nil {
		return nil
	}
	a, err := v.arr()
	if err != nil {
		return []Value{v}
	}
	out := make([]Value, len(a))
	for i, e := range a {
		out[i] = Value{v: e}
	}
	return out
}

// clone copies v into the batch arena so that the copy and the original
// can change independently. Scalars are immutable and shared. With norm,
// a top-level number is written as Substation's SetValue writes it: an
// integer when it is integral, else Go's shortest decimal.
func (b *batch) clone(v *fastjson.Value, norm bool) *fastjson.Value {
	if v == nil {
		return b.arena.NewNull()
	}
	if o := object(v); o != nil {
		n := b.arena.NewObject()
		no := n.GetObject()
		o.Visit(func(k []byte, c *fastjson.Value) { no.Set(string(k), b.clone(c, false)) })
		return n
	}
	if a, ok := array(v); ok {
		n := b.arena.NewArray()
		for i, c := range a {
			n.SetArrayItem(i, b.clone(c, false))
		}
		return n
	}
	if !norm {
		return v
	}
	if k, _ := kindText(v); k != kNumber {
		return v
	}
	b.num = v.MarshalTo(b.num[:0])
	if isInteger(b.num) {
		return v
	}
	f, err := strconv.ParseFloat(string(b.num), 64)
	if err != nil {
		return v
	}
	var s string
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		s = strconv.FormatInt(int64(f), 10)
	} else {
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	if s == string(b.num) {
		return v
	}
	return b.arena.NewNumberString(s)
}

func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
