package builtin

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
)

// Number conditions: number_equal_to, number_greater_than,
// number_less_than. (number_bitwise_*, number_length_*: to do.)

func init() {
	RegisterCondition("number_equal_to", newNumberCondition(func(a, b float64) bool { return a == b }))
	RegisterCondition("number_greater_than", newNumberCondition(func(a, b float64) bool { return a > b }))
	RegisterCondition("number_less_than", newNumberCondition(func(a, b float64) bool { return a < b }))
}

// number returns the number a condition inspects: the value at
// source_key, or the data read as a number when source_key is empty. ok
// is false when source_key is set and missing.
func number(m *Message, src string) (float64, bool) {
	if src == "" {
		f, _ := strconv.ParseFloat(strings.TrimSpace(string(m.Data())), 64)
		return f, true
	}
	v := m.GetValue(src)
	if !v.Exists() {
		return 0, false
	}
	return v.Float(), true
}

func newNumberCondition(cmp func(got, want float64) bool) ConditionFactory {
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
			if m.ctrl {
				return false, nil
			}
			w := want
			if tgt != "" {
				t, ok := number(m, tgt)
				if !ok {
					return false, nil
				}
				w = t
			}
			got, ok := number(m, src)
			return ok && cmp(got, w), nil
		}), nil
	}
}
