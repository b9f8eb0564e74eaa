package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Number conditions: number_equal_to, number_greater_than,
// number_less_than, number_bitwise_and/or/xor/not (the integer at
// source_key, or the data parsed as a base-10 integer, which must parse:
// an error otherwise, as in Substation), number_length_equal_to/
// greater_than/less_than (an array's element count, otherwise the
// length of the text in bytes, or in characters with measurement
// "char"/"rune").

func init() {
	RegisterCondition("number_equal_to", newNumberCondition(func(a, b float64) bool { return a == b }, true))
	RegisterCondition("number_greater_than", newNumberCondition(func(a, b float64) bool { return a > b }, false))
	RegisterCondition("number_less_than", newNumberCondition(func(a, b float64) bool { return a < b }, false))
	RegisterCondition("number_bitwise_and", newNumberBitwise(func(v, x int64) bool { return v&x != 0 }))
	RegisterCondition("number_bitwise_or", newNumberBitwise(func(v, x int64) bool { return v|x != 0 }))
	RegisterCondition("number_bitwise_xor", newNumberBitwise(func(v, x int64) bool { return v^x != 0 }))
	RegisterCondition("number_bitwise_not", newNumberBitwise(func(v, _ int64) bool { return ^v != 0 }))
	RegisterCondition("number_length_equal_to", newNumberLength(func(n, want int) bool { return n == want }))
	RegisterCondition("number_length_greater_than", newNumberLength(func(n, want int) bool { return n > want }))
	RegisterCondition("number_length_less_than", newNumberLength(func(n, want int) bool { return n < want }))
}

func newNumberBitwise(op func(v, x int64) bool) ConditionFactory {
	return func(c *Compiler, raw json.RawMessage) (Condition, error) {
		var s struct {
			ID
			Object ObjectSettings `json:"object"`
			Value  int64          `json:"value"`
		}
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		src, x := s.Object.SourceKey, s.Value
		return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
			if src != "" {
				return op(m.GetValue(src).Int(), x), nil
			}
			v, err := strconv.ParseInt(string(m.Data()), 10, 64)
			if err != nil {
				return false, fmt.Errorf("data is not an integer: %w", err)
			}
			return op(v, x), nil
		}), nil
	}
}

func newNumberLength(match func(n, want int) bool) ConditionFactory {
	return func(c *Compiler, raw json.RawMessage) (Condition, error) {
		var s struct {
			ID
			Object      ObjectSettings `json:"object"`
			Value       int            `json:"value"`
			Measurement string         `json:"measurement"`
		}
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		switch s.Measurement {
		case "", "byte", "char", "rune":
		default:
			return nil, fmt.Errorf("settings: measurement %q: must be byte or char", s.Measurement)
		}
		src, want := s.Object.SourceKey, s.Value
		chars := s.Measurement == "char" || s.Measurement == "rune"
		length := func(b []byte) int {
			if chars {
				return utf8.RuneCount(b)
			}
			return len(b)
		}
		return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
			if src == "" {
				return match(length(m.Data()), want), nil
			}
			v := m.GetValue(src)
			if v.IsArray() {
				return match(v.Len(), want), nil
			}
			b := m.b
			start := len(b.scratch)
			b.scratch = v.AppendText(b.scratch)
			n := length(b.scratch[start:])
			b.scratch = b.scratch[:start]
			return match(n, want), nil
		}), nil
	}
}

// newNumberCondition builds number_equal_to, number_greater_than and
// number_less_than as Substation does: the data parsed as a number (an
// error when it is not one), or the value at source_key (read as gjson
// reads numbers) against the value at target_key when that exists, else
// the "value" setting. For number_equal_to a missing source value never
// matches; for the others it reads as 0.
func newNumberCondition(cmp func(got, want float64) bool, needSource bool) ConditionFactory {
	return func(c *Compiler, raw json.RawMessage) (Condition, error) {
		var s struct {
			ID
			Object ObjectSettings `json:"object"`
			Value  float64        `json:"value"`
		}
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		src, tgt, want := s.Object.SourceKey, s.Object.TargetKey, s.Value
		return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
			if src == "" {
				f, err := strconv.ParseFloat(string(m.Data()), 64)
				if err != nil {
					return false, fmt.Errorf("data is not a number: %w", err)
				}
				return cmp(f, want), nil
			}
			v := m.GetValue(src)
			if needSource && !v.Exists() {
				return false, nil
			}
			w := want
			if tgt != "" {
				if t := m.GetValue(tgt); t.Exists() {
					w = floatOf(m.b, t)
				}
			}
			return cmp(floatOf(m.b, v), w), nil
		}), nil
	}
}
