package builtin

import (
	"math"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// Value is a read-only view of one JSON value of a message, with gjson's
// conversions (Substation's message.Value). The zero Value is missing.
// A Value is valid until its message changes.
type Value struct {
	v *fastjson.Value
}

// Exists reports whether the value is present.
func (v Value) Exists() bool { return v.v != nil }

// IsString reports whether the value is a JSON string.
func (v Value) IsString() bool { return v.v != nil && v.v.Type() == fastjson.TypeString }

// IsNumber reports whether the value is a JSON number.
func (v Value) IsNumber() bool { return v.v != nil && v.v.Type() == fastjson.TypeNumber }

// IsBool reports whether the value is true or false.
func (v Value) IsBool() bool {
	return v.v != nil && (v.v.Type() == fastjson.TypeTrue || v.v.Type() == fastjson.TypeFalse)
}

// IsNull reports whether the value is JSON null.
func (v Value) IsNull() bool { return v.v != nil && v.v.Type() == fastjson.TypeNull }

// IsArray reports whether the value is a JSON array.
func (v Value) IsArray() bool { return v.v != nil && v.v.Type() == fastjson.TypeArray }

// IsObject reports whether the value is a JSON object.
func (v Value) IsObject() bool { return v.v != nil && v.v.Type() == fastjson.TypeObject }

// str returns the string of a JSON string value.
func (v Value) str() string {
	b, _ := v.v.StringBytes()
	return string(b)
}

// String returns the value as gjson's Result.String does: a string's
// text, a number's or boolean's JSON text, an object's or array's JSON,
// and "" for null or a missing value.
func (v Value) String() string {
	if v.v == nil || v.v.Type() == fastjson.TypeNull {
		return ""
	}
	if v.v.Type() == fastjson.TypeString {
		return v.str()
	}
	return string(v.AppendText(nil))
}

// AppendText appends String's text to dst without an intermediate string.
func (v Value) AppendText(dst []byte) []byte {
	if v.v == nil {
		return dst
	}
	switch v.v.Type() {
	case fastjson.TypeNull:
		return dst
	case fastjson.TypeString:
		b, _ := v.v.StringBytes()
		return append(dst, b...)
	case fastjson.TypeObject, fastjson.TypeArray:
		return appendJSON(dst, v.v)
	default:
		return v.v.MarshalTo(dst)
	}
}

// Bytes returns String as bytes.
func (v Value) Bytes() []byte { return v.AppendText(nil) }

// JSON appends the value's JSON encoding to dst (nothing when missing).
func (v Value) JSON(dst []byte) []byte {
	if v.v == nil {
		return dst
	}
	return appendJSON(dst, v.v)
}

// Float returns the value as a float64, as gjson does: numbers, numeric
// strings, true = 1; 0 otherwise.
func (v Value) Float() float64 {
	if v.v == nil {
		return 0
	}
	switch v.v.Type() {
	case fastjson.TypeNumber:
		f, _ := v.v.Float64()
		return f
	case fastjson.TypeTrue:
		return 1
	case fastjson.TypeString:
		f, _ := strconv.ParseFloat(v.str(), 64)
		return f
	}
	return 0
}

// Int returns the value as an int64, as gjson does: an integer's exact
// value, a float truncated, a numeric string parsed, true = 1.
func (v Value) Int() int64 {
	if v.v == nil {
		return 0
	}
	var s string
	switch v.v.Type() {
	case fastjson.TypeTrue:
		return 1
	case fastjson.TypeNumber:
		if n, err := v.v.Int64(); err == nil {
			return n
		}
		s = string(v.v.MarshalTo(nil))
	case fastjson.TypeString:
		s = v.str()
	default:
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	f, _ := strconv.ParseFloat(s, 64)
	return floatToInt(f)
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
	if v.v == nil {
		return 0
	}
	var s string
	switch v.v.Type() {
	case fastjson.TypeTrue:
		return 1
	case fastjson.TypeNumber:
		if n, err := v.v.Uint64(); err == nil {
			return n
		}
		s = string(v.v.MarshalTo(nil))
	case fastjson.TypeString:
		s = v.str()
	default:
		return 0
	}
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

// Bool returns the value as a bool, as gjson does: true, a string that
// strconv.ParseBool reads as true, a non-zero number.
func (v Value) Bool() bool {
	if v.v == nil {
		return false
	}
	switch v.v.Type() {
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeNumber:
		f, _ := v.v.Float64()
		return f != 0
	case fastjson.TypeString:
		b, _ := strconv.ParseBool(strings.ToLower(v.str()))
		return b
	}
	return false
}

// Len returns the number of elements of an array (0 for anything else).
func (v Value) Len() int {
	if !v.IsArray() {
		return 0
	}
	a, _ := v.v.Array()
	return len(a)
}

// Index returns the i-th element of an array (missing when out of range
// or not an array).
func (v Value) Index(i int) Value {
	if !v.IsArray() {
		return Value{}
	}
	a, _ := v.v.Array()
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
	if v.v.Type() != fastjson.TypeArray {
		return []Value{v}
	}
	a, _ := v.v.Array()
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
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		n := b.arena.NewObject()
		no, _ := n.Object()
		o.Visit(func(k []byte, c *fastjson.Value) { no.Set(string(k), b.clone(c, false)) })
		return n
	case fastjson.TypeArray:
		a, _ := v.Array()
		n := b.arena.NewArray()
		for i, c := range a {
			n.SetArrayItem(i, b.clone(c, false))
		}
		return n
	case fastjson.TypeNumber:
		if !norm {
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
	return v
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
