package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Number transforms: number_math_addition, number_math_subtraction,
// number_math_multiplication, number_math_division (fold an array of
// numbers left to right), number_maximum, number_minimum (against the
// "value" setting). They read the value at object.source_key, or the
// data (a JSON document, or text read as a number), and write the result
// at object.target_key as a number, or as the data in Go's shortest
// decimal form without exponent ("8", "0.0123456789"). A missing source
// value or, for the math transforms, one that is not an array leaves the
// message unchanged; elements are read as gjson reads numbers (numeric
// strings count, anything else is 0).

func init() {
	RegisterTransform("number_math_addition", newNumberMath(func(a, b float64) float64 { return a + b }))
	RegisterTransform("number_math_subtraction", newNumberMath(func(a, b float64) float64 { return a - b }))
	RegisterTransform("number_math_multiplication", newNumberMath(func(a, b float64) float64 { return a * b }))
	RegisterTransform("number_math_division", newNumberMath(func(a, b float64) float64 { return a / b }))
	RegisterTransform("number_maximum", newNumberBound(math.Max))
	RegisterTransform("number_minimum", newNumberBound(math.Min))
}

// dataValue returns the data as Substation's transforms read it when no
// source_key is set (bytesToValue): the parsed document, or, when the
// data is not JSON (or empty), its text as a string.
func dataValue(m *Message) Value {
	if v := m.b.tree(&m.data); v != nil {
		return Value{v: v}
	}
	return Value{v: m.b.newStringBytes(m.Data())}
}

// floatOf returns v.Float(), reading JSON numbers with fastjson's
// parser, which does not allocate (strconv's does, through its error
// value).
func floatOf(b *batch, v Value) float64 {
	var k int
	k, b.num = kindOf(v.v, b.num[:0])
	if k == kNumber {
		if f, err := v.v.Float64(); err == nil {
			return f
		}
	}
	return v.Float()
}

// sourceValue returns the value at src, or the data value when src is
// empty.
func sourceValue(m *Message, src string) Value {
	if src == "" {
		return dataValue(m)
	}
	return m.GetValue(src)
}

// setNumber writes f at tgt, or as the data when tgt is empty.
func setNumber(m *Message, tgt string, f float64) error {
	b := m.b
	start := len(b.scratch)
	b.scratch = strconv.AppendFloat(b.scratch, f, 'f', -1, 64)
	text := b.scratch[start:len(b.scratch):len(b.scratch)]
	if tgt == "" {
		m.SetData(text)
		return nil
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("result %v is not a JSON number", f)
	}
	// SetRaw of the text SetFloat would write, without its allocation.
	return m.SetRaw(tgt, text)
}

// decodeTogether decodes raw into s and checks keysTogether on o, s's
// object settings.
func decodeTogether(c *Compiler, raw json.RawMessage, s any, o *ObjectSettings) error {
	if err := c.Decode(raw, s); err != nil {
		return err
	}
	return keysTogether(*o)
}

func newNumberMath(op func(a, b float64) float64) TransformFactory {
	return func(c *Compiler, raw json.RawMessage) (Transform, error) {
		var s objectSettings
		if err := decodeTogether(c, raw, &s, &s.Object); err != nil {
			return nil, err
		}
		src, tgt := s.Object.SourceKey, s.Object.TargetKey
		return PerMessage(func(_ context.Context, m *Message) (bool, error) {
			v := sourceValue(m, src)
			if !v.Exists() || !v.IsArray() {
				return false, nil
			}
			var f float64
			for i, n := 0, v.Len(); i < n; i++ {
				e := floatOf(m.b, v.Index(i))
				if i == 0 {
					f = e
					continue
				}
				f = op(f, e)
			}
			return false, setNumber(m, tgt, f)
		}), nil
	}
}

func newNumberBound(op func(a, b float64) float64) TransformFactory {
	return func(c *Compiler, raw json.RawMessage) (Transform, error) {
		var s struct {
			ID
			Object ObjectSettings `json:"object"`
			Value  float64        `json:"value"`
		}
		if err := decodeTogether(c, raw, &s, &s.Object); err != nil {
			return nil, err
		}
		src, tgt, bound := s.Object.SourceKey, s.Object.TargetKey, s.Value
		return PerMessage(func(_ context.Context, m *Message) (bool, error) {
			v := sourceValue(m, src)
			if !v.Exists() {
				return false, nil
			}
			return false, setNumber(m, tgt, op(floatOf(m.b, v), bound))
		}), nil
	}
}
