package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
)

// String conditions: string_contains, string_starts_with,
// string_ends_with, string_equal_to, string_match, string_greater_than,
// string_less_than.

func init() {
	RegisterCondition("string_contains", newStringCondition(strings.Contains))
	RegisterCondition("string_starts_with", newStringCondition(strings.HasPrefix))
	RegisterCondition("string_ends_with", newStringCondition(strings.HasSuffix))
	RegisterCondition("string_equal_to", newStringCondition(func(a, b string) bool { return a == b }))
	RegisterCondition("string_match", newStringMatch)
	RegisterCondition("string_greater_than", newStringOrder(func(c int) bool { return c > 0 }))
	RegisterCondition("string_less_than", newStringOrder(func(c int) bool { return c < 0 }))
}

// newStringOrder builds string_greater_than and string_less_than as
// Substation does: the bytes of the data (no source_key) or of the value
// at source_key (a missing value is empty) are compared with the value
// at target_key when it exists, else with the "value" setting.
func newStringOrder(ok func(cmp int) bool) ConditionFactory {
	return func(c *Compiler, raw json.RawMessage) (Condition, error) {
		var s struct {
			ID
			Object ObjectSettings `json:"object"`
			Value  string         `json:"value"`
		}
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		src, tgt, want := s.Object.SourceKey, s.Object.TargetKey, []byte(s.Value)
		return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
			if m.ctrl {
				return false, nil
			}
			if src == "" {
				return ok(bytes.Compare(m.Data(), want)), nil
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

// text returns the text a condition inspects: the value at source_key
// (its gjson string), or the whole data when source_key is empty. ok is
// false when source_key is set and missing.
func text(m *Message, src string) (string, bool) {
	if src == "" {
		return string(m.Data()), true
	}
	v := m.GetValue(src)
	if !v.Exists() {
		return "", false
	}
	return m.text(v), true
}

func newStringCondition(cmp func(s, value string) bool) ConditionFactory {
	return func(c *Compiler, raw json.RawMessage) (Condition, error) {
		var s struct {
			ID
			Object ObjectSettings `json:"object"`
			Value  string         `json:"value"`
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
				t, ok := text(m, tgt)
				if !ok {
					return false, nil
				}
				w = t
			}
			if src == "" {
				return cmp(string(m.Data()), w), nil
			}
			got, ok := text(m, src)
			if !ok {
				return false, nil
			}
			return cmp(got, w), nil
		}), nil
	}
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
	re, err := regexp.Compile(s.Pattern)
	if err != nil {
		return nil, c.errorf("settings: pattern: %v", err)
	}
	src := s.Object.SourceKey
	return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
		if m.ctrl {
			return false, nil
		}
		if src == "" {
			return re.Match(m.Data()), nil
		}
		got, ok := text(m, src)
		return ok && re.MatchString(got), nil
	}), nil
}
