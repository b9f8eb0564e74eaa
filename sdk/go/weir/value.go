package weir

import (
	"strconv"
	"unsafe"

	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/engine/frame"
)

// ValueType is the type of a Value.
type ValueType = frame.ValueType

// Value types.
const (
	TypeMissing = frame.Missing
	TypeString  = frame.String
	TypeNumber  = frame.Number
	TypeTrue    = frame.True
	TypeFalse   = frame.False
	TypeNull    = frame.Null
	TypeObject  = frame.Object
	TypeArray   = frame.Array
)

// Value is the value at a path of a record: a host-parsed view, or a value
// the SDK parsed in the guest. The zero Value is missing. A Value's bytes
// alias the batch: they are valid until the handler returns.
//
// A Value is 24 bytes of at most four fields, so that Go keeps it in
// registers (SSA) instead of memory: a larger struct is copied with
// memory.copy in Wasm each time it is passed or a method is called on an
// element of a []Value (a 40-byte Value cost cloudtrail-ecs 13% of its
// guest instructions: 47.0k per record, 40.9k with this layout).
type Value struct {
	// p points at the bytes (raw: unescaped string, or the JSON text of a
	// number, object or array), or, when parsed is set, at the
	// *fastjson.Value whose text is not built yet.
	p      unsafe.Pointer
	n      int // len(raw)
	t      frame.ValueType
	parsed bool
}

// bytesValue makes a Value from a type and its bytes, keeping nil apart
// from empty.
func bytesValue(t frame.ValueType, raw []byte) Value {
	return Value{p: unsafe.Pointer(unsafe.SliceData(raw)), n: len(raw), t: t}
}

// bytes returns p and n as a slice. It builds the slice header itself:
// unsafe.Slice checks n against the element size with a call that Go does
// not inline in Wasm.
func (v Value) bytes() []byte {
	h := sliceHeader{v.p, v.n, v.n}
	return *(*[]byte)(unsafe.Pointer(&h))
}

// sliceHeader is the layout of a []byte.
type sliceHeader struct {
	p      unsafe.Pointer
	n, cap int
}

// fv returns the guest-parsed value of a number, object or array whose
// text is not built yet, or nil.
func (v Value) fv() *fastjson.Value {
	if v.parsed {
		return (*fastjson.Value)(v.p)
	}
	return nil
}

// ViewValue makes a Value from a view's type and bytes (the unescaped
// string for TypeString, the JSON text for numbers, objects and arrays).
// Modules use it in native tests of functions that take Values.
func ViewValue(t ValueType, raw []byte) Value { return bytesValue(t, raw) }

// JSONValue makes a Value from a parsed JSON value (nil: missing).
func JSONValue(v *fastjson.Value) Value {
	if v == nil {
		return Value{}
	}
	switch v.Type() {
	case fastjson.TypeString:
		return bytesValue(frame.String, v.GetStringBytes())
	case fastjson.TypeNumber:
		return Value{p: unsafe.Pointer(v), t: frame.Number, parsed: true}
	case fastjson.TypeTrue:
		return Value{t: frame.True}
	case fastjson.TypeFalse:
		return Value{t: frame.False}
	case fastjson.TypeNull:
		return Value{t: frame.Null}
	case fastjson.TypeObject:
		return Value{p: unsafe.Pointer(v), t: frame.Object, parsed: true}
	case fastjson.TypeArray:
		return Value{p: unsafe.Pointer(v), t: frame.Array, parsed: true}
	}
	return Value{}
}

// Exists reports whether the path is present (null counts as present).
func (v Value) Exists() bool { return v.t != frame.Missing }

// Type returns the value's JSON type, or TypeMissing.
func (v Value) Type() ValueType { return v.t }

// IsString reports whether the value is a JSON string.
func (v Value) IsString() bool { return v.t == frame.String }

// Bytes returns a string value's unescaped bytes, or the JSON text of any
// other value ("true", "null", "12.5", `{"a":1}`), or nil when missing. The
// slice aliases the batch (valid until the handler returns); do not modify
// it.
func (v Value) Bytes() []byte {
	switch v.t {
	case frame.String:
		return v.bytes()
	case frame.Number, frame.Object, frame.Array:
		if !v.parsed {
			return v.bytes()
		}
	}
	// true, false and null views carry no bytes (an empty, non-nil slice
	// in a frame), nor do guest-parsed values.
	return v.text()
}

// text is Bytes for values that carry no bytes yet.
func (v Value) text() []byte {
	switch v.t {
	case frame.True:
		return []byte("true")
	case frame.False:
		return []byte("false")
	case frame.Null:
		return []byte("null")
	}
	if fv := v.fv(); fv != nil {
		return frame.AppendValue(nil, fv)
	}
	return nil
}

// StringBytes returns a string value's unescaped bytes (possibly empty),
// or nil for every other type. Like Bytes, it aliases the batch.
func (v Value) StringBytes() []byte {
	if v.t == frame.String {
		return v.bytes()
	}
	return nil
}

// String returns Bytes as a string (a copy, safe to keep).
func (v Value) String() string { return string(v.Bytes()) }

// Raw returns the value as JSON text: a string is quoted and escaped. It
// returns nil when the value is missing.
func (v Value) Raw() []byte {
	if v.t == frame.String {
		return frame.AppendString(nil, v.bytes())
	}
	return v.Bytes()
}

// Int returns a number as an int64; ok is false for other types and for
// numbers that are not integers in range ("1e3" is 1000).
func (v Value) Int() (n int64, ok bool) {
	if v.t != frame.Number {
		return 0, false
	}
	if fv := v.fv(); fv != nil {
		if n, err := fv.Int64(); err == nil {
			return n, true
		}
	} else if n, err := strconv.ParseInt(unsafe.String((*byte)(v.p), v.n), 10, 64); err == nil {
		return n, true
	}
	f, ok := v.Float()
	if !ok || f != float64(int64(f)) || f >= 1<<63 || f < -(1<<63) {
		return 0, false
	}
	return int64(f), true
}

// Float returns a number as a float64; ok is false for other types.
func (v Value) Float() (f float64, ok bool) {
	if v.t != frame.Number {
		return 0, false
	}
	if fv := v.fv(); fv != nil {
		f, err := fv.Float64()
		return f, err == nil
	}
	f, err := strconv.ParseFloat(unsafe.String((*byte)(v.p), v.n), 64)
	return f, err == nil
}

// Bool returns a JSON boolean; ok is false for other types.
func (v Value) Bool() (b, ok bool) {
	switch v.t {
	case frame.True:
		return true, true
	case frame.False:
		return false, true
	}
	return false, false
}
