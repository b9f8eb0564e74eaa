package builtin

import (
	"context"
	"encoding/json"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Object transforms: object_copy, object_delete, object_insert,
// object_to_*. (object_jq: jq.go.)

func init() {
	RegisterTransform("object_copy", newObjectCopy)
	RegisterTransform("object_delete", newObjectDelete)
	RegisterTransform("object_insert", newObjectInsert)
	RegisterTransform("object_to_boolean", newObjectTo(func(m *Message, _, k string, v Value) error { return m.SetBool(k, v.Bool()) }))
	RegisterTransform("object_to_float", newObjectTo(func(m *Message, _, k string, v Value) error { return m.SetFloat(k, v.Float()) }))
	RegisterTransform("object_to_integer", newObjectTo(func(m *Message, _, k string, v Value) error { return m.SetInt(k, v.Int()) }))
	RegisterTransform("object_to_unsigned_integer", newObjectTo(func(m *Message, _, k string, v Value) error { return m.SetUint(k, v.Uint()) }))
	RegisterTransform("object_to_string", newObjectTo(objectToString))
}

type objectSettings struct {
	ID
	Object ObjectSettings `json:"object"`
}

// object_copy: source+target copies a value; source only replaces the
// data with the value; target only wraps the data into an object.
func newObjectCopy(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s objectSettings
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	src, dst := s.Object.SourceKey, s.Object.TargetKey
	switch {
	case src != "" && dst != "":
		return PerMessage(func(_ context.Context, m *Message) (bool, error) {
			v := m.GetValue(src)
			if !v.Exists() {
				return false, nil
			}
			return false, m.SetValue(dst, v)
		}), nil
	case src != "":
		return PerMessage(func(_ context.Context, m *Message) (bool, error) {
			v := m.GetValue(src)
			b := m.b
			start := len(b.scratch)
			b.scratch = v.AppendText(b.scratch)
			m.SetData(b.scratch[start:len(b.scratch):len(b.scratch)])
			return false, nil
		}), nil
	case dst != "":
		return PerMessage(func(_ context.Context, m *Message) (bool, error) {
			data := m.Data()
			if len(data) == 0 {
				return false, nil
			}
			m.SetData(nil)
			return false, m.SetBytes(dst, data)
		}), nil
	}
	return PerMessage(func(context.Context, *Message) (bool, error) { return false, nil }), nil
}

func newObjectDelete(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s objectSettings
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	if err := requireKeys(s.Object, true, false); err != nil {
		return nil, err
	}
	key := s.Object.SourceKey
	return PerMessage(func(_ context.Context, m *Message) (bool, error) {
		return false, m.DeleteValue(key)
	}), nil
}

func newObjectInsert(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Object ObjectSettings  `json:"object"`
		Value  json.RawMessage `json:"value"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	if err := requireKeys(s.Object, false, true); err != nil {
		return nil, err
	}
	if len(s.Value) == 0 {
		s.Value = json.RawMessage("null")
	}
	val, err := ParseConstant(s.Value)
	if err != nil {
		return nil, c.errorf("settings: value: %v", err)
	}
	key := s.Object.TargetKey
	return PerMessage(func(_ context.Context, m *Message) (bool, error) {
		return false, m.SetValue(key, val.Value())
	}), nil
}

// newObjectTo builds object_to_*: read source_key, convert, write
// target_key. A missing source leaves the message unchanged.
func newObjectTo(set func(m *Message, src, dst string, v Value) error) TransformFactory {
	return func(c *Compiler, raw json.RawMessage) (Transform, error) {
		var s objectSettings
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		if err := requireKeys(s.Object, true, true); err != nil {
			return nil, err
		}
		src, dst := s.Object.SourceKey, s.Object.TargetKey
		return PerMessage(func(_ context.Context, m *Message) (bool, error) {
			v := m.GetValue(src)
			if !v.Exists() {
				return false, nil
			}
			return false, set(m, src, dst, v)
		}), nil
	}
}

// objectToString is object_to_string's conversion: it writes a
// string's text, a scalar's JSON, and an object's or array's JSON as
// written in the record (Substation's gjson String keeps the original
// spacing), or as serialized when the record was already changed.
func objectToString(m *Message, src, dst string, v Value) error {
	if v.raw != nil && (v.IsObject() || v.IsArray()) {
		// @this of an unchanged document: its bytes as they came,
		// without the leading whitespace gjson's Parse skips
		// (escaped into the batch's scratch buffer, no copy).
		raw := v.raw
		for len(raw) > 0 && raw[0] <= ' ' {
			raw = raw[1:]
		}
		return m.set(dst, m.b.newString(unsafe.String(unsafe.SliceData(raw), len(raw))))
	}
	if v.IsObject() || v.IsArray() {
		d, path := m.target(src)
		if r := gjson.GetBytes(m.b.serialize(d), path); r.Exists() && (r.IsObject() || r.IsArray()) {
			return m.SetString(dst, r.Raw)
		}
	}
	return m.SetString(dst, v.String())
}
