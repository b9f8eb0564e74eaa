package builtin

import (
	"bytes"
	"context"
	"encoding/json"
)

// String conditions, with Substation v2.8.0's semantics: string_contains,
// string_starts_with, string_ends_with, string_equal_to, string_match,
// string_greater_than, string_less_than.

func init() {
	RegisterCondition("string_contains", newStringCondition(bytes.Contains))
	RegisterCondition("string_starts_with", newStringCondition(bytes.HasPrefix))
	RegisterCondition("string_ends_with", newStringCondition(bytes.HasSuffix))
	RegisterCondition("string_equal_to", newStringEqualTo)
	RegisterCondition("string_match", newStringMatch)
	RegisterCondition("string_greater_than", newStringOrder(func(c int) bool { return c > 0 }))
	RegisterCondition("string_less_than", newStringOrder(func(c int) bool { return c < 0 }))
}

// stringSettings are the settings of Substation's string conditions.
type stringSettings struct {
	ID
	Object ObjectSettings `json:"object"`
	Value  string         `json:"value"`
}

// withText calls f with the text of v (a string's content, another
// value's JSON, "" when missing) held in the batch's scratch space.
func withText(m *Message, v Value, f func([]byte) bool) bool {
	b := m.b
	start := len(b.scratch)
	b.scratch = v.AppendText(b.scratch)
	ok := f(b.scratch[start:])
	b.scratch = b.scratch[:start]
	return ok
}

// newStringCondition builds string_contains, string_starts_with and
// string_ends_with as Substation does: the data (no source_key) or the
// text of the value at source_key (a missing value is "") against the
// "value" setting.
func newStringCondition(cmp func(s, value []byte) bool) ConditionFactory {
	return func(c *Compiler, raw json.RawMessage) (Condition, error) {
		var s stringSettings
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		src, want := s.Object.SourceKey, []byte(s.Value)
		return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
			if src == "" {
				return cmp(m.Data(), want), nil
			}
			return withText(m, m.GetValue(src), func(got []byte) bool { return cmp(got, want) }), nil
		}), nil
	}
}

// newStringEqualTo: the data (no source_key) equals "value"; otherwise
// the value at source_key, which must exist, equals the value at
// target_key when that exists, else "value".
func newStringEqualTo(c *Compiler, raw json.RawMessage) (Condition, error) {
	var s stringSettings
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	src, tgt, want := s.Object.SourceKey, s.Object.TargetKey, []byte(s.Value)
	return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
		if src == "" {
			return bytes.Equal(m.Data(), want), nil
		}
		v := m.GetValue(src)
		if !v.Exists() {
			return false, nil
		}
		if tgt != "" {
			if t := m.GetValue(tgt); t.Exists() {
				return withText(m, v, func(got []byte) bool {
					return withText(m, t, func(w []byte) bool { return bytes.Equal(got, w) })
				}), nil
			}
		}
		return withText(m, v, func(got []byte) bool { return bytes.Equal(got, want) }), nil
	}), nil
}

func newStringMatch(c *Compiler, raw json.RawMessage) (Condition, error) {
	var s struct {
		ID
		Object  ObjectSettings `json:"object"`
		Pattern string         `json:"pattern"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	if s.Pattern == "" {
		return nil, c.errorf("settings: pattern is required")
	}
	re, err := compileRegexp(s.Pattern)
	if err != nil {
		return nil, c.errorf("settings: pattern: %v", err)
	}
	src := s.Object.SourceKey
	return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
		if src == "" {
			return re.Match(m.Data()), nil
		}
		// A missing value is "", as in Substation.
		return withText(m, m.GetValue(src), re.Match), nil
	}), nil
}

// newStringOrder builds string_greater_than and string_less_than as
// Substation does: the bytes of the data (no source_key) or of the value
// at source_key (a missing value is empty) are compared with the value
// at target_key when it exists, else with the "value" setting.
func newStringOrder(ok func(cmp int) bool) ConditionFactory {
	return func(c *Compiler, raw json.RawMessage) (Condition, error) {
		var s stringSettings
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		src, tgt, want := s.Object.SourceKey, s.Object.TargetKey, []byte(s.Value)
		return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
			if src == "" {
				return ok(bytes.Compare(m.Data(), want)), nil
			}
			if tgt == "" && len(want) == 0 {
				// Against "": only whether the text is empty counts
				// (the reference job's "is set" tests).
				if m.GetValue(src).hasText() {
					return ok(1), nil
				}
				return ok(0), nil
			}
			b := m.b
			start := len(b.scratch)
			w := want
			if tgt != "" {
				if t := m.GetValue(tgt); t.Exists() {
					b.scratch = t.AppendText(b.scratch)
					w = b.scratch[start:]
				}
			}
			mid := len(b.scratch)
			b.scratch = m.GetValue(src).AppendText(b.scratch)
			got := b.scratch[mid:]
			res := ok(bytes.Compare(got, w))
			b.scratch = b.scratch[:start]
			return res, nil
		}), nil
	}
}
